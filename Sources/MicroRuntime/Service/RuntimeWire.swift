import MicroCore

// go-micro's runtime service messages (`go.micro.runtime`'s Create, Read, Update, Delete, Logs) in
// JSON, with Swift Micro's additions (Create answers the services it starts; Read answers the full
// ``RuntimeServiceStatus``, a superset of go-micro's Service).

/// go-micro's `Service`: name, version, source, metadata.
struct RuntimeWireService: Codable, Sendable {
    var name: String?
    var version: String?
    var source: String?
    var metadata: [String: String]?
}

/// go-micro's `CreateOptions`, with Swift Micro's `runtime` (``RuntimeKind``'s raw value).
struct RuntimeCreateOptions: Codable, Sendable {
    var runtime: String?
}

struct RuntimeCreateRequest: Codable, Sendable {
    var service: RuntimeWireService
    var options: RuntimeCreateOptions?
}

struct RuntimeCreateResponse: Codable, Sendable {
    /// The services started, dependencies first.
    var services: [String]?
}

struct RuntimeReadOptions: Codable, Sendable {
    var service: String?
    var version: String?
    var type: String?
}

struct RuntimeReadRequest: Codable, Sendable {
    var options: RuntimeReadOptions?
}

struct RuntimeReadResponse: Codable, Sendable {
    var services: [RuntimeServiceStatus]?
}

struct RuntimeUpdateRequest: Codable, Sendable {
    var service: RuntimeWireService
}

struct RuntimeDeleteRequest: Codable, Sendable {
    var service: RuntimeWireService
}

struct RuntimeEmptyResponse: Codable, Sendable {}

struct RuntimeLogsRequest: Codable, Sendable {
    /// The service's name.
    var service: String
    /// Keep sending lines as they are written.
    var stream: Bool?
    /// How many of the last lines to send first (default 100, at most ``RuntimeHandler/maxLogLines``).
    var count: Int64?
}

/// go-micro's `LogRecord`.
struct RuntimeLogRecord: Codable, Sendable {
    var timestamp: Int64?
    var metadata: [String: String]?
    var message: String
}

extension RuntimeWireService {
    /// The name, required and valid.
    func requiredName() throws -> String {
        guard let name, RuntimeManifest.isValidName(name) else {
            throw RuntimeError(.badSource, "a service name (1 to 64 of [A-Za-z0-9._-]) is required, got '\(String((name ?? "").prefix(100)))'")
        }
        return name
    }
}
