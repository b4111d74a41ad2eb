/// The number an acquisition of a lock (or a leader's term) carries: strictly greater than every earlier
/// acquisition's of the same lock, so storage can refuse a write from a holder whose lease has passed
/// (``Store/write(_:ifToken:)``).
public struct FencingToken: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The lock's key (`lock/<name>` or `leader/<name>`): tokens are compared only within one lock.
    public var lock: String
    /// The number, from the engine (an etcd revision, a store revision).
    public var value: UInt64

    /// A token.
    public init(lock: String, value: UInt64) {
        self.lock = lock
        self.value = value
    }

    public static func < (a: FencingToken, b: FencingToken) -> Bool {
        (a.lock, a.value) < (b.lock, b.value)
    }

    public var description: String { "\(lock)#\(value)" }
}
