import Foundation

/// Default holder identities: `<host>-<pid>-<random>`, unique per acquisition, telling people where
/// a holder runs.
enum SyncIdentity {
    private static let prefix = "\(ProcessInfo.processInfo.hostName.prefix(64))-\(ProcessInfo.processInfo.processIdentifier)"

    /// A fresh identity.
    static func holder() -> String {
        "\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
    }
}
