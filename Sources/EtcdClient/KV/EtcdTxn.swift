/// An etcd transaction: if every comparison holds, the `success` operations run, else the `failure`
/// ones, atomically at one revision. The building block of compare-and-swap, locks and elections.
public struct EtcdTxn: Sendable, Hashable {
    /// The conditions, all of which must hold.
    public var compare: [EtcdCompare]
    /// What runs when they hold.
    public var success: [EtcdOperation]
    /// What runs when one does not.
    public var failure: [EtcdOperation]

    /// Creates a transaction.
    public init(compare: [EtcdCompare] = [], success: [EtcdOperation] = [], failure: [EtcdOperation] = []) {
        self.compare = compare
        self.success = success
        self.failure = failure
    }
}

/// A condition on a key in a transaction.
public struct EtcdCompare: Sendable, Hashable {
    /// The field compared, with the value to compare it to.
    public enum Target: Sendable, Hashable {
        /// The key's version (0: the key does not exist).
        case version(Int64)
        /// The revision that created the key (0: it does not exist).
        case createRevision(Int64)
        /// The revision that last modified the key.
        case modRevision(Int64)
        /// The key's value.
        case value([UInt8])
        /// The key's lease.
        case lease(Int64)
    }

    /// How the key's field relates to the target value.
    public enum Relation: Sendable, Hashable { case equal, notEqual, greater, less }

    /// The key (or the first key of ``rangeEnd``'s range).
    public var key: [UInt8]
    /// Compare every key in `[key, rangeEnd)`; empty for just ``key``.
    public var rangeEnd: [UInt8]
    /// What is compared.
    public var target: Target
    /// How.
    public var relation: Relation

    /// A condition.
    public init(key: [UInt8], rangeEnd: [UInt8] = [], _ target: Target, _ relation: Relation) {
        self.key = key
        self.rangeEnd = rangeEnd
        self.target = target
        self.relation = relation
    }

    /// A condition on one key.
    public init(_ key: String, _ target: Target, _ relation: Relation) {
        self.init(key: Array(key.utf8), target, relation)
    }

    /// The key does not exist.
    public static func absent(_ key: String) -> EtcdCompare { EtcdCompare(key, .createRevision(0), .equal) }
}

/// An operation in a transaction.
public enum EtcdOperation: Sendable, Hashable {
    /// Read a range.
    case range(EtcdKeyRange)
    /// Write a key, with a lease (0: none).
    case put(key: [UInt8], value: [UInt8], lease: Int64)
    /// Delete a range.
    case delete(EtcdKeyRange)

    /// Write a key with a text key.
    public static func put(_ key: String, _ value: [UInt8], lease: Int64 = 0) -> EtcdOperation {
        .put(key: Array(key.utf8), value: value, lease: lease)
    }
}

/// The result of one operation of a transaction.
public enum EtcdOperationResult: Sendable, Hashable {
    case range(EtcdRangeResult)
    case put(EtcdPutResult)
    case delete(EtcdDeleteResult)
}

/// The answer to a transaction.
public struct EtcdTxnResult: Sendable, Hashable {
    /// The store revision after it.
    public var revision: Int64
    /// Whether the comparisons held (so the `success` operations ran).
    public var succeeded: Bool
    /// The results of the operations that ran, in order.
    public var results: [EtcdOperationResult]

    /// Creates a result.
    public init(revision: Int64, succeeded: Bool, results: [EtcdOperationResult]) {
        self.revision = revision
        self.succeeded = succeeded
        self.results = results
    }
}
