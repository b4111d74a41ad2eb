import Foundation

/// The OCI image registry the Kubernetes runtime pushes images to (and the cluster pulls them from):
/// `host[:port][/path]`, over HTTPS unless ``tlsVerify`` is off (a plain-HTTP registry), with the
/// credentials of a containers-auth.json file. Images are pushed with `buildah push` (no daemon) as
/// `ADDRESS/NAME:TAG` and referenced by digest.
public struct ImageRegistry: Sendable, Hashable {
    /// `MICRO_RUNTIME_IMAGE_REGISTRY`: where images go, `host[:port][/path]` (`127.0.0.1:5000/micro`).
    public static let addressVariable = "MICRO_RUNTIME_IMAGE_REGISTRY"
    /// `MICRO_RUNTIME_IMAGE_REGISTRY_TLS_VERIFY`: `false` for a plain-HTTP registry (default `true`).
    public static let tlsVerifyVariable = "MICRO_RUNTIME_IMAGE_REGISTRY_TLS_VERIFY"
    /// `MICRO_RUNTIME_IMAGE_REGISTRY_AUTH_FILE`: a containers-auth.json with the registry's credentials.
    public static let authFileVariable = "MICRO_RUNTIME_IMAGE_REGISTRY_AUTH_FILE"

    /// `host[:port][/path]`.
    public var address: String
    /// Whether to require HTTPS with a verified certificate.
    public var tlsVerify: Bool
    /// The credentials file `buildah push --authfile` reads, if any.
    public var authFile: String?
    /// Attempts `buildah push` makes after a failure it deems temporary.
    public var retries: Int

    /// A registry at `address`; throws ``RuntimeError/Code/notConfigured`` for an address that is not `host[:port][/path]`.
    public init(address: String, tlsVerify: Bool = true, authFile: String? = nil, retries: Int = 2) throws {
        let trimmed = address.hasSuffix("/") ? String(address.dropLast()) : address
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:/")
        guard (1...255).contains(trimmed.utf8.count), trimmed.allSatisfy(allowed.contains), !trimmed.contains("://"),
              let host = trimmed.split(separator: "/", omittingEmptySubsequences: false).first, !host.isEmpty,
              !trimmed.contains("//"), !trimmed.split(separator: "/").dropFirst().contains(where: { $0.contains(":") }) else {
            throw RuntimeError(.notConfigured, "\(Self.addressVariable) '\(address.prefix(100))' is not host[:port][/path] (no scheme)")
        }
        if let authFile, authFile.isEmpty || authFile.contains("\0") { throw RuntimeError(.notConfigured, "\(Self.authFileVariable) is not a path") }
        self.address = trimmed
        self.tlsVerify = tlsVerify
        self.authFile = authFile
        self.retries = max(0, min(retries, 10))
    }

    /// The registry the environment names (the variables above); nil when ``addressVariable`` is unset or
    /// empty. Throws ``RuntimeError/Code/notConfigured`` for a bad value.
    public init?(environment: [String: String]) throws {
        guard let address = environment[Self.addressVariable], !address.isEmpty else { return nil }
        var verify = true
        if let text = environment[Self.tlsVerifyVariable], !text.isEmpty {
            switch text.lowercased() {
            case "true", "1", "yes": verify = true
            case "false", "0", "no": verify = false
            default: throw RuntimeError(.notConfigured, "\(Self.tlsVerifyVariable) '\(text.prefix(20))' is not true or false")
            }
        }
        let authFile = environment[Self.authFileVariable].flatMap { $0.isEmpty ? nil : $0 }
        try self.init(address: address, tlsVerify: verify, authFile: authFile)
    }

    /// The repository of `service`'s images: `ADDRESS/NAME`, the name lower-cased with every run of
    /// characters outside `[a-z0-9]` one `-` (`go.micro.Store` → `go-micro-store`).
    public func repository(for service: String) -> String {
        var name = ""
        for character in service.lowercased() {
            if character.isASCII, character.isLetter || character.isNumber {
                name.append(character)
            } else if !name.isEmpty, name.last != "-" {
                name.append("-")
            }
        }
        while name.last == "-" { name.removeLast() }
        return address + "/" + (name.isEmpty ? "service" : name)
    }

    /// The tag of an image of `version` built from `commit`: `VERSION-COMMIT12` (the version alone when it
    /// is the commit, or there is none; `GENERATION` appended for a source without a commit), with
    /// characters a tag cannot hold as `-`, at most 128.
    public static func tag(version: String, commit: String?, generation: Int) -> String {
        var text = version
        if let commit {
            let short = String(commit.prefix(12))
            if !version.hasPrefix(short) { text += "-" + short }
        } else {
            text += "-g\(generation)"
        }
        var tag = String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "-" })
        if let first = tag.first, first == "." || first == "-" { tag = "v" + tag }
        return String(tag.prefix(128))
    }

    /// Pushes `image` (in `containers`' storage) as `REPOSITORY:TAG`; the reference pinned by the
    /// digest the registry stored (`…:TAG@sha256:…`). Throws ``RuntimeError/Code/pushFailed`` with
    /// buildah's message when the registry refuses it or cannot be reached.
    func push(_ image: String, service: String, tag: String, containers: ContainerRuntime, workDirectory: String, log: String) async throws -> String {
        let reference = repository(for: service) + ":" + tag
        try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        let digestFile = workDirectory + "/push.digest"
        try? FileManager.default.removeItem(atPath: digestFile)
        var arguments = ["push", "--quiet", "--tls-verify=\(tlsVerify)", "--retry", String(retries), "--retry-delay", "1s",
                         "--digestfile", digestFile]
        if let authFile { arguments += ["--authfile", authFile] }
        let outcome = try await containers.buildah(arguments + [image, "docker://" + reference]).run(log: log)
        guard outcome.succeeded else {
            throw RuntimeError(.pushFailed, "buildah push \(reference) \(outcome.exit): \(outcome.output.trimmingCharacters(in: .whitespacesAndNewlines).suffix(2000))")
        }
        let digest = try Self.digest(FileManager.default.contents(atPath: digestFile) ?? Data())
        return reference + "@" + digest
    }

    /// The digest in buildah's digest file: `sha256:` and 64 hex digits; ``RuntimeError/Code/pushFailed`` otherwise.
    static func digest(_ data: Data) throws -> String {
        let text = String(decoding: data.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let hex = text.dropFirst("sha256:".count)
        guard data.count <= 200, text.hasPrefix("sha256:"), hex.count == 64, hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw RuntimeError(.pushFailed, "buildah push wrote no digest of the pushed image: '\(text.prefix(100))'")
        }
        return text
    }
}
