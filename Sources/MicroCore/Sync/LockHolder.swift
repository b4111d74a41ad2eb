/// Who holds a lock (or leads) and with which token, as an engine reports it.
public struct LockHolder: Sendable, Hashable, CustomStringConvertible {
    /// The holder's identity, as it acquired the lock.
    public var holder: String
    /// Its acquisition's token.
    public var token: FencingToken

    /// A holder.
    public init(holder: String, token: FencingToken) {
        self.holder = holder
        self.token = token
    }

    public var description: String { "\(holder) (\(token))" }
}
