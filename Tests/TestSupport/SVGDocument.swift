// SVGDocument.swift -- the flood plot and the trace ladder read back independently of sockettool: XMLParser
// checks it is well-formed and yields the root element, each polyline's points, and every element with its
// attributes and text, for both test targets.
import Foundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// An SVG parsed with Foundation's XMLParser: the root element and the points of each polyline by id.
public struct SVGDocument {
    public private(set) var root = ""
    public private(set) var rootAttributes: [String: String] = [:]
    public private(set) var points: [String: [(x: Double, y: Double)]] = [:]
    /// Every element in document order.
    public private(set) var elements: [Element] = []

    /// One element: its name, attributes and the text directly inside it.
    public struct Element {
        public let name: String
        public let attributes: [String: String]
        public internal(set) var text: String
    }

    /// The elements whose `class` attribute lists `name`.
    public func elements(ofClass name: String) -> [Element] {
        elements.filter { ($0.attributes["class"] ?? "").split(separator: " ").contains(Substring(name)) }
    }

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
        elements = delegate.elements
    }

    private final class Delegate: NSObject, XMLParserDelegate {
        var root = ""
        var rootAttributes: [String: String] = [:]
        var points: [String: [(x: Double, y: Double)]] = [:]
        var elements: [Element] = []
        /// Indices into `elements` of the elements now open.
        var open: [Int] = []

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if let index = open.last { elements[index].text += string }
        }

        func parser(
            _ parser: XMLParser,
            didEndElement elementName: String,
            namespaceURI: String?,
            qualifiedName: String?
        ) {
            _ = open.popLast()
        }

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
            elements.append(Element(name: elementName, attributes: attributes, text: ""))
            open.append(elements.count - 1)
            guard elementName == "polyline", let id = attributes["id"], let list = attributes["points"] else { return }
            points[id] = list.split(separator: " ").compactMap { pair in
                let xy = pair.split(separator: ",").compactMap { Double($0) }
                return xy.count == 2 ? (xy[0], xy[1]) : nil
            }
        }
    }
}
