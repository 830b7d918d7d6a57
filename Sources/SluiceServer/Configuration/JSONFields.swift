import Foundation
import SluiceNet

/// Typed reads from one JSON object of a config file, with errors that name the field's path.
struct JSONFields {
    private let object: [String: Any]
    /// Where this object sits, e.g. `rules[2].match`; empty at the root.
    let prefix: String

    init(_ value: Any, path: String) throws(ConfigurationError) {
        guard let object = value as? [String: Any] else {
            throw ConfigurationError(field: path, message: "expected a JSON object")
        }
        self.object = object
        self.prefix = path
    }

    /// `prefix.name`, or `name` at the root.
    func path(of name: String) -> String {
        prefix.isEmpty ? name : (name.isEmpty ? prefix : "\(prefix).\(name)")
    }

    /// Fails on any field not in `known`, listing the known ones.
    func allowOnly(_ known: Set<String>) throws(ConfigurationError) {
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw ConfigurationError(
                field: path(of: unknown),
                message: "unknown field; known fields here: \(known.sorted().joined(separator: ", "))")
        }
    }

    func string(_ name: String) throws(ConfigurationError) -> String? {
        guard let value = object[name], !(value is NSNull) else { return nil }
        guard let text = value as? String else { throw wrongType(name, "a string") }
        return text
    }

    func bool(_ name: String) throws(ConfigurationError) -> Bool? {
        guard let value = object[name], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, Self.isBoolean(number) else {
            throw wrongType(name, "true or false")
        }
        return number.boolValue
    }

    func integer(_ name: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let value = object[name], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, !Self.isBoolean(number),
            let integer = Int(exactly: number.doubleValue)
        else { throw wrongType(name, "a whole number") }
        guard range.contains(integer) else {
            throw ConfigurationError(
                field: path(of: name), message: "\(integer) is out of range (\(range.lowerBound)...\(range.upperBound))"
            )
        }
        return integer
    }

    /// An array of strings; with `allowSingle`, a lone string counts as a list of one.
    func strings(_ name: String, allowSingle: Bool = false) throws(ConfigurationError) -> [String]? {
        guard let value = object[name], !(value is NSNull) else { return nil }
        if allowSingle, let text = value as? String { return [text] }
        guard let list = value as? [Any], let texts = list as? [String] else {
            throw wrongType(name, "a list of strings")
        }
        return texts
    }

    func object(_ name: String) throws(ConfigurationError) -> JSONFields? {
        guard let value = object[name], !(value is NSNull) else { return nil }
        return try JSONFields(value, path: path(of: name))
    }

    func objects(_ name: String) throws(ConfigurationError) -> [JSONFields]? {
        guard let value = object[name], !(value is NSNull) else { return nil }
        guard let list = value as? [Any] else { throw wrongType(name, "a list of objects") }
        return try list.enumerated().map { (index, element) throws(ConfigurationError) in
            try JSONFields(element, path: "\(path(of: name))[\(index)]")
        }
    }

    func duration(_ text: String, field: String) throws(ConfigurationError) -> Duration {
        do { return try DurationText.parse(text) } catch {
            throw ConfigurationError(field: path(of: field), message: error.message)
        }
    }

    func hostAndPort(_ text: String, field: String, port: Int) throws(ConfigurationError) -> HostAndPort {
        do { return try HostAndPort(parsing: text, defaultPort: port) } catch {
            throw ConfigurationError(field: path(of: field), message: error.description)
        }
    }

    /// JSON `true`/`false` arrive as a boolean subclass of `NSNumber`; `1` and `0` do not.
    private static func isBoolean(_ number: NSNumber) -> Bool {
        type(of: number) == type(of: NSNumber(value: true))
    }

    private func wrongType(_ name: String, _ expected: String) -> ConfigurationError {
        ConfigurationError(field: path(of: name), message: "expected \(expected)")
    }
}
