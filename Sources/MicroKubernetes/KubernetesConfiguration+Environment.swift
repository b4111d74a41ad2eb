import Foundation

extension KubernetesConfiguration {
    /// `MICRO_RUNTIME_KUBERNETES_ADDRESS`: the API server's URL (in a pod: `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`).
    public static let addressVariable = "MICRO_RUNTIME_KUBERNETES_ADDRESS"
    /// `MICRO_RUNTIME_KUBERNETES_TOKEN`: a bearer token.
    public static let tokenVariable = "MICRO_RUNTIME_KUBERNETES_TOKEN"
    /// `MICRO_RUNTIME_KUBERNETES_TOKEN_FILE`: a file holding the bearer token (in a pod: its service account's).
    public static let tokenFileVariable = "MICRO_RUNTIME_KUBERNETES_TOKEN_FILE"
    /// `MICRO_RUNTIME_KUBERNETES_CA_FILE`: the CA certificates (PEM) of the API server (in a pod: its service account's).
    public static let caFileVariable = "MICRO_RUNTIME_KUBERNETES_CA_FILE"
    /// `MICRO_RUNTIME_KUBERNETES_NAMESPACE`: the namespace (in a pod: its own; else `default`).
    public static let namespaceVariable = "MICRO_RUNTIME_KUBERNETES_NAMESPACE"
    /// Where a pod finds its service account's token, CA and namespace.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The configuration the environment gives: the variables above, each defaulting to what a pod is
    /// given (`KUBERNETES_SERVICE_HOST`/`PORT`, the service account's files under `serviceAccount`);
    /// nil when no API server is named either way. Throws ``KubernetesError/Code/invalid`` for a bad value.
    public static func fromEnvironment(_ environment: [String: String],
                                       serviceAccount: String = serviceAccountDirectory) throws -> KubernetesConfiguration? {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        func file(_ name: String) -> String? {
            let path = serviceAccount + "/" + name
            return FileManager.default.fileExists(atPath: path) ? path : nil
        }
        var server = value(addressVariable)
        if server == nil, let host = value("KUBERNETES_SERVICE_HOST") {
            let port = value("KUBERNETES_SERVICE_PORT") ?? "443"
            server = "https://" + (host.contains(":") ? "[\(host)]" : host) + ":" + port
        }
        guard let server else { return nil }
        guard server.hasPrefix("http://") || server.hasPrefix("https://"), server.utf8.count <= 1024,
              URL(string: server)?.host?.isEmpty == false else {
            throw KubernetesError(.invalid, "\(addressVariable) '\(server.prefix(100))' is not an http:// or https:// URL")
        }
        var namespace = value(namespaceVariable)
        if namespace == nil, let path = file("namespace"), let text = try? readSmallFile(path) {
            namespace = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let chosen = namespace ?? "default"
        guard (1...63).contains(chosen.utf8.count),
              chosen.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }) else {
            throw KubernetesError(.invalid, "namespace '\(chosen.prefix(100))' is not a DNS label")
        }
        let token = value(tokenVariable)
        let tokenFile = token == nil ? (value(tokenFileVariable) ?? file("token")) : nil
        let caFile = value(caFileVariable) ?? (server.hasPrefix("https://") ? file("ca.crt") : nil)
        return KubernetesConfiguration(server: server, token: token, tokenFile: tokenFile, caFile: caFile, namespace: chosen)
    }

    /// The bearer token to send now: ``token``, else ``tokenFile``'s contents (at most 64 KiB), else none.
    func currentToken() throws -> String? {
        if let token { return token }
        guard let tokenFile else { return nil }
        let text = try Self.readSmallFile(tokenFile).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, !text.contains(where: { $0.isNewline || $0 == "\0" }) else {
            throw KubernetesError(.unauthorized, "the token file \(tokenFile) holds no token")
        }
        return text
    }

    /// A file of at most 64 KiB, as text.
    static func readSmallFile(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw KubernetesError(.invalid, "cannot read \(path)") }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: 64 << 10 + 1)) ?? Data()
        guard data.count <= 64 << 10 else { throw KubernetesError(.invalid, "\(path) is larger than 64 KiB") }
        return String(decoding: data, as: UTF8.self)
    }
}
