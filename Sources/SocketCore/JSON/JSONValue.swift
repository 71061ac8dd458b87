// JSONValue.swift -- a parsed JSON document, keeping what Python's json module would see: member order,
// and numbers as their source text (so 10 and 10.0 and 1e400 stay distinguishable).

/// A JSON value.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number as written; `isInteger` when it has no fraction or exponent (Python makes it an int).
    case number(text: String, isInteger: Bool)
    case string(String)
    case array([JSONValue])
    /// Members in document order. The parser rejects duplicate keys, so each key appears once.
    case object([JSONMember])

    /// The value of member `key`, if this is an object that has it.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The string, if this is one.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// Python's name for the type, for error messages: "dict", "list", "str", "int", "float", "bool", "NoneType".
    public var pythonTypeName: String {
        switch self {
        case .null: "NoneType"
        case .bool: "bool"
        case .number(_, let isInteger): isInteger ? "int" : "float"
        case .string: "str"
        case .array: "list"
        case .object: "dict"
        }
    }
}

/// One key and value of a JSON object.
public struct JSONMember: Sendable, Equatable {
    public var key: String
    public var value: JSONValue

    public init(_ key: String, _ value: JSONValue) {
        self.key = key
        self.value = value
    }
}
