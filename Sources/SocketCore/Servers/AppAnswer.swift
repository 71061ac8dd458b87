// AppAnswer.swift -- what `serve app` makes of one whole request: what it meant and the response, made on
// the loop for small requests and on a worker thread for large ones (RequestWorkers), then sent by the loop.

/// A request's meaning and its response. Pure: no sockets, no log.
struct AppAnswer: Sendable {
    private enum Meaning: Sendable {
        case request(AppProtocol.Request)
        /// The guide's search for the table's entry at this index: the document is built only if a log
        /// line shows it.
        case tableSearch(Int)
        /// Why the request was refused; the response is then the error frame.
        case refused(String)
    }

    private let meaning: Meaning
    /// The response frame as it goes on the wire.
    let response: [UInt8]
    /// The length of the response's content (the log's frame layout).
    let responseContentLength: Int

    /// The request as understood, for the log; nil when it was refused.
    var request: AppProtocol.Request? {
        switch meaning {
        case .request(let request): request
        case .tableSearch(let index): AppProtocol.search(String(decoding: AppProtocol.tableKeys[index], as: UTF8.self))
        case .refused: nil
        }
    }

    /// Why the request was refused, for the log and the stats; `response` is then the error frame.
    var refusal: String? {
        if case .refused(let reason) = meaning { reason } else { nil }
    }

    private init(_ meaning: Meaning, response: Frame) {
        self.init(meaning, encoded: response.encoded(), contentLength: response.content.count)
    }

    private init(_ meaning: Meaning, encoded: [UInt8], contentLength: Int) {
        self.meaning = meaning
        self.response = encoded
        self.responseContentLength = contentLength
    }

    /// A response's content may be this many times the request's content...
    static let responseGrowthLimit = 2
    /// ...or this long, whichever is more (the guide's answers and errors are far shorter).
    static let responseFloor = 64 << 10

    /// The longest response content allowed for a request of `contentLength` bytes.
    static func maxResponseLength(forRequestOf contentLength: Int) -> Int {
        max(responseFloor, responseGrowthLimit * contentLength)
    }

    /// The answer to the guide's search for the table's entry at `index`: its response, encoded once.
    init(tableSearch index: Int) {
        self.init(
            .tableSearch(index),
            encoded: AppProtocol.encodedTableResponses[index],
            contentLength: AppProtocol.tableResponseContentLengths[index]
        )
    }

    /// Parses, validates and answers `frame`.
    static func make(for frame: Frame) -> AppAnswer {
        if let index = AppProtocol.tableSearch(in: frame) { return AppAnswer(tableSearch: index) }
        let request: AppProtocol.Request
        do {
            request = try AppProtocol.request(from: frame)
        } catch {
            return refused(error.description)
        }
        let limit = maxResponseLength(forRequestOf: frame.content.count)
        guard let response = AppProtocol.response(to: request, maxResultLength: limit),
            response.content.count <= limit
        else {
            return refused(
                "the answer would be longer than \(NumberFormat.bytes(limit)), the most allowed for a request of "
                    + "\(frame.content.count) bytes."
            )
        }
        return AppAnswer(.request(request), response: response)
    }

    private static func refused(_ reason: String) -> AppAnswer {
        AppAnswer(.refused(reason), response: AppProtocol.resultFrame("Error: \(reason)"))
    }
}
