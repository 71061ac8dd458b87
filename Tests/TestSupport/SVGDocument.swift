// SVGDocument.swift -- the flood plot read back independently of sockettool: XMLParser checks it is
// well-formed and yields the root element and each polyline's points, for both test targets.
import Foundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// An SVG parsed with Foundation's XMLParser: the root element and the points of each polyline by id.
public struct SVGDocument {
    public private(set) var root = ""
    public private(set) var rootAttributes: [String: String] = [:]
    public private(set) var points: [String: [(x: Double, y: Double)]] = [:]

    public struct Malformed: Error, CustomStringConvertible {
        public let description: String
    }

    /// Parses SVG text.
    public init(_ text: String) throws {
        try self.init(data: Data(text.utf8))
    }

    /// Parses the SVG file at `path`.
    public init(contentsOf path: String) throws {
        try self.init(data: try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    private init(data: Data) throws {
        let parser = XMLParser(data: data)
        let delegate = Delegate()
        parser.delegate = delegate
        guard parser.parse() else {
            throw Malformed(description: "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?")")
        }
        root = delegate.root
        rootAttributes = delegate.rootAttributes
        points = delegate.points
    }

    private final class Delegate: NSObject, XMLParserDelegate {
        var root = ""
        var rootAttributes: [String: String] = [:]
        var points: [String: [(x: Double, y: Double)]] = [:]

        func parser(
            _ parser: XMLParser,
            didStartElement elementName: String,
            namespaceURI: String?,
            qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            if root.isEmpty {
                root = elementName
                rootAttributes = attributes
            }
            guard elementName == "polyline", let id = attributes["id"], let list = attributes["points"] else { return }
            points[id] = list.split(separator: " ").compactMap { pair in
                let xy = pair.split(separator: ",").compactMap { Double($0) }
                return xy.count == 2 ? (xy[0], xy[1]) : nil
            }
        }
    }
}
