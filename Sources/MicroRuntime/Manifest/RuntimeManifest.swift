import Foundation
import Yams

/// `micro.yaml` at the root of a service's repository: the service's name, the product to build (or
/// a prebuilt binary), its environment and arguments, and the services it depends on, each by source.
///
/// ```yaml
/// name: hello
/// product: Hello
/// env: { GREETING: hi }
/// depends:
///   - source: https://example.com/greeter.git@v1
/// ```
public struct RuntimeManifest: Sendable, Hashable, Codable {
    /// One dependency: another service, by source (`SOURCE[@REF]`, relative paths from the repository).
    public struct Dependency: Sendable, Hashable, Codable {
        /// Where the dependency comes from.
        public var source: String
        /// Creates a dependency.
        public init(source: String) { self.source = source }
    }

    /// The file's name: `micro.yaml`.
    public static let fileName = "micro.yaml"
    /// The largest manifest read.
    public static let maxBytes = 64 * 1024
    /// The most dependencies, arguments and environment variables one manifest may list.
    public static let maxEntries = 64

    /// The service's name (what it registers as); default: the product's, else the source's last component.
    public var name: String?
    /// The service's version, shown by `micro ps`.
    public var version: String?
    /// The executable product to build; default: the package's only executable.
    public var product: String?
    /// A prebuilt executable to run instead of building (absolute, or relative to the repository).
    public var binary: String?
    /// Arguments the executable is started with.
    public var args: [String]?
    /// Environment variables set for the service (over the runtime's `MICRO_*`).
    public var env: [String: String]?
    /// The services this one needs, started (and healthy) before it.
    public var depends: [Dependency]?
    /// How it runs: `process` (the default), `container` (a static build in an image, run with podman)
    /// or `kubernetes` (that image pushed to a registry and run as a Deployment).
    public var runtime: RuntimeKind?
    /// The port it serves on in a cluster (`kubernetes`: its Service's and `MICRO_SERVER_ADDRESS=:PORT`; default 8080).
    public var port: Int?
    /// How many instances a cluster runs (`kubernetes`; default 1).
    public var replicas: Int?

    /// Creates a manifest.
    public init(name: String? = nil, version: String? = nil, product: String? = nil, binary: String? = nil,
                args: [String]? = nil, env: [String: String]? = nil, depends: [Dependency]? = nil, runtime: RuntimeKind? = nil,
                port: Int? = nil, replicas: Int? = nil) {
        self.name = name
        self.version = version
        self.product = product
        self.binary = binary
        self.args = args
        self.env = env
        self.depends = depends
        self.runtime = runtime
        self.port = port
        self.replicas = replicas
    }

    /// Parses and checks a manifest; throws ``RuntimeError/Code/badManifest`` saying what is wrong.
    public init(yaml data: Data) throws {
        guard data.count <= Self.maxBytes else {
            throw RuntimeError(.badManifest, "\(Self.fileName) is \(data.count) bytes, more than \(Self.maxBytes)")
        }
        let text = String(decoding: data, as: UTF8.self)
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            self.init()
            return
        }
        do {
            self = try YAMLDecoder().decode(RuntimeManifest.self, from: text)
        } catch {
            throw RuntimeError(.badManifest, "\(Self.fileName) is not a manifest: \(String(describing: error).prefix(500))")
        }
        try validate()
    }

    /// Reads `micro.yaml` in `directory`; an empty manifest when there is none.
    public static func load(from directory: String) throws -> RuntimeManifest {
        let path = directory + "/" + fileName
        guard FileManager.default.fileExists(atPath: path) else { return RuntimeManifest() }
        guard let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue, size <= maxBytes,
              let data = FileManager.default.contents(atPath: path) else {
            throw RuntimeError(.badManifest, "\(path) cannot be read or is larger than \(maxBytes) bytes")
        }
        return try RuntimeManifest(yaml: data)
    }

    /// Checks names, counts and sizes.
    func validate() throws {
        if let name, !Self.isValidName(name) { throw RuntimeError(.badManifest, "name '\(name.prefix(100))' is not 1 to 64 of [A-Za-z0-9._-]") }
        if let product, !Self.isValidName(product) { throw RuntimeError(.badManifest, "product '\(product.prefix(100))' is not 1 to 64 of [A-Za-z0-9._-]") }
        if let version, version.isEmpty || version.utf8.count > 64 { throw RuntimeError(.badManifest, "version is 1 to 64 bytes") }
        if let binary, binary.isEmpty || binary.utf8.count > 1024 || binary.contains("\0") { throw RuntimeError(.badManifest, "binary is a path of 1 to 1024 bytes") }
        if let port, !(1...65535).contains(port) { throw RuntimeError(.badManifest, "port \(port) is not 1 to 65535") }
        if let replicas, !(0...1000).contains(replicas) { throw RuntimeError(.badManifest, "replicas \(replicas) is not 0 to 1000") }
        if (args?.count ?? 0) > Self.maxEntries || (env?.count ?? 0) > Self.maxEntries || (depends?.count ?? 0) > Self.maxEntries {
            throw RuntimeError(.badManifest, "args, env and depends hold at most \(Self.maxEntries) entries each")
        }
        for arg in args ?? [] where arg.utf8.count > 4096 || arg.contains("\0") { throw RuntimeError(.badManifest, "an argument is at most 4096 bytes, without NUL") }
        for (key, value) in env ?? [:] {
            guard let first = key.unicodeScalars.first, !CharacterSet.decimalDigits.contains(first), key.utf8.count <= 128,
                  key.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_") }) else {
                throw RuntimeError(.badManifest, "env name '\(key.prefix(100))' is not [A-Za-z_][A-Za-z0-9_]* (at most 128)")
            }
            if value.utf8.count > 4096 || value.contains("\0") { throw RuntimeError(.badManifest, "env \(key) is at most 4096 bytes, without NUL") }
        }
        for dependency in depends ?? [] where dependency.source.isEmpty || dependency.source.utf8.count > RuntimeSource.maxLength {
            throw RuntimeError(.badManifest, "a dependency's source is 1 to \(RuntimeSource.maxLength) bytes")
        }
    }

    /// A service or product name: 1 to 64 of `[A-Za-z0-9._-]`, not starting with `.` or `-`.
    public static func isValidName(_ name: String) -> Bool {
        guard (1...64).contains(name.utf8.count), let first = name.first, first != ".", first != "-" else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) }
    }
}
