import MicroAddress

extension HostPort {
    /// The `host:port` of a transport's or broker's address: a `scheme://` prefix and a path are
    /// ignored, a missing host is 127.0.0.1 (``HostPort``'s policy); anything else is a 400.
    package static func transportAddress(_ address: String) throws(MicroError) -> HostPort {
        do {
            return try HostPort(parsing: HostPort.splitScheme(address).authority, defaultHost: HostPort.loopback)
        } catch {
            throw MicroError.badRequest("go.micro.transport", "address \(address) is not host:port: \(error.reason)")
        }
    }
}
