import MicroAddress
import MicroCore

extension HostPort {
    /// The `host:port` of an HTTP transport or broker address: a `scheme://` prefix and a path are
    /// ignored, a missing host is 127.0.0.1 (``HostPort``'s policy); anything else is a 400.
    static func http(_ address: String) throws(MicroError) -> HostPort {
        do {
            return try HostPort(parsing: HostPort.splitScheme(address).authority, defaultHost: HostPort.loopback)
        } catch {
            throw MicroError.badRequest("go.micro.transport", "address \(address) is not host:port: \(error.reason)")
        }
    }
}
