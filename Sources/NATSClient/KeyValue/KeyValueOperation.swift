/// What the last message of a key says happened to it.
public enum KeyValueOperation: String, Sendable, Hashable {
    /// A value was put.
    case put = "PUT"
    /// The key was deleted (a `KV-Operation: DEL` marker; earlier values may remain in the history).
    case delete = "DEL"
    /// The key was purged (a `KV-Operation: PURGE` marker that rolled up its history).
    case purge = "PURGE"
}
