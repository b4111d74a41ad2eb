/// A service as go-micro's registries store it: `{"name","version","metadata","endpoints","nodes"}`.
public struct ServiceRecord: Sendable, Hashable, Codable {
    /// The service name, e.g. `greeter`.
    public var name: String
    /// The version string; nodes of different versions are separate records.
    public var version: String
    /// Service-wide metadata.
    public var metadata: [String: String]
    /// The endpoints the service answers, with their request and response shapes.
    public var endpoints: [Endpoint]
    /// The running instances.
    public var nodes: [Node]

    /// Creates a record.
    public init(name: String, version: String = "latest", metadata: [String: String] = [:], endpoints: [Endpoint] = [], nodes: [Node] = []) {
        self.name = name
        self.version = version
        self.metadata = metadata
        self.endpoints = endpoints
        self.nodes = nodes
    }

    enum CodingKeys: String, CodingKey { case name, version, metadata, endpoints, nodes }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        version = try c.decodeIfPresent(String.self, forKey: .version) ?? ""
        metadata = try c.decodeIfPresent([String: String].self, forKey: .metadata) ?? [:]
        endpoints = try c.decodeIfPresent([Endpoint].self, forKey: .endpoints) ?? []
        nodes = try c.decodeIfPresent([Node].self, forKey: .nodes) ?? []
    }
}

/// One running instance of a service: `{"id","address","metadata"}` with `address` as `host:port`.
public struct Node: Sendable, Hashable, Codable {
    /// A unique id, by convention `<service>-<uuid>`.
    public var id: String
    /// Where to reach it, `host:port`.
    public var address: String
    /// Node metadata: `transport`, `broker`, `server`, `registry`, `protocol`, ...
    public var metadata: [String: String]

    /// Creates a node.
    public init(id: String, address: String, metadata: [String: String] = [:]) {
        self.id = id
        self.address = address
        self.metadata = metadata
    }

    enum CodingKeys: String, CodingKey { case id, address, metadata }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        address = try c.decodeIfPresent(String.self, forKey: .address) ?? ""
        metadata = try c.decodeIfPresent([String: String].self, forKey: .metadata) ?? [:]
    }
}

/// An endpoint a service answers: `{"name","request","response","metadata"}`.
public struct Endpoint: Sendable, Hashable, Codable {
    /// The endpoint name, e.g. `Greeter.Hello`.
    public var name: String
    /// The request's shape, if known.
    public var request: Value?
    /// The response's shape, if known.
    public var response: Value?
    /// Endpoint metadata, e.g. `{"stream": "true"}` or `{"subscriber": "true", "topic": T}`.
    public var metadata: [String: String]

    /// Creates an endpoint description.
    public init(name: String, request: Value? = nil, response: Value? = nil, metadata: [String: String] = [:]) {
        self.name = name
        self.request = request
        self.response = response
        self.metadata = metadata
    }

    enum CodingKeys: String, CodingKey { case name, request, response, metadata }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        request = try c.decodeIfPresent(Value.self, forKey: .request)
        response = try c.decodeIfPresent(Value.self, forKey: .response)
        metadata = try c.decodeIfPresent([String: String].self, forKey: .metadata) ?? [:]
    }
}

/// A type description, recursive: `{"name","type","values"}`, as go-micro extracts from Go structs.
public struct Value: Sendable, Hashable, Codable {
    /// The field or type name.
    public var name: String
    /// The type, e.g. `string`, `int64` or a struct's name.
    public var type: String
    /// Nested fields.
    public var values: [Value]

    /// Creates a type description.
    public init(name: String, type: String, values: [Value] = []) {
        self.name = name
        self.type = type
        self.values = values
    }

    enum CodingKeys: String, CodingKey { case name, type, values }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
        type = try c.decodeIfPresent(String.self, forKey: .type) ?? ""
        values = try c.decodeIfPresent([Value].self, forKey: .values) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(type, forKey: .type)
        if !values.isEmpty { try c.encode(values, forKey: .values) }
    }
}
