/// A JSON value for the fixture API server, which keeps objects as the client sent them (unknown
/// fields included) and applies JSON merge patches (RFC 7386) to them.
enum FixtureJSON: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([FixtureJSON])
    case object([String: FixtureJSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .int(value) }
        else if let value = try? container.decode(Double.self) { self = .double(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([FixtureJSON].self) { self = .array(value) }
        else { self = .object(try container.decode([String: FixtureJSON].self)) }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The value at a path of object keys.
    subscript(path: String...) -> FixtureJSON? {
        get { value(at: path[...]) }
        set { set(path[...], to: newValue) }
    }

    private func value(at path: ArraySlice<String>) -> FixtureJSON? {
        guard let key = path.first else { return self }
        guard case .object(let members) = self else { return nil }
        return members[key]?.value(at: path.dropFirst())
    }

    private mutating func set(_ path: ArraySlice<String>, to value: FixtureJSON?) {
        guard let key = path.first else {
            self = value ?? .null
            return
        }
        var members: [String: FixtureJSON] = [:]
        if case .object(let existing) = self { members = existing }
        if path.count == 1 {
            members[key] = value
        } else {
            var child = members[key] ?? .object([:])
            child.set(path.dropFirst(), to: value)
            members[key] = child
        }
        self = .object(members)
    }

    var string: String? { if case .string(let value) = self { value } else { nil } }
    var int: Int64? { if case .int(let value) = self { value } else { nil } }

    /// RFC 7386: an object patch merges key by key (null removes), anything else replaces.
    func merged(with patch: FixtureJSON) -> FixtureJSON {
        guard case .object(let changes) = patch else { return patch }
        var members: [String: FixtureJSON] = [:]
        if case .object(let existing) = self { members = existing }
        for (key, change) in changes {
            if change == .null { members[key] = nil } else { members[key] = (members[key] ?? .null).merged(with: change) }
        }
        return .object(members)
    }
}
