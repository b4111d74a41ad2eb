/// One write: the record's key, value and metadata, how long it lives, and when the write may happen.
public struct StoreWrite: Sendable, Hashable {
    /// The key.
    public var key: String
    /// The value.
    public var value: [UInt8]
    /// Metadata kept with the value.
    public var metadata: [String: String]
    /// How long the record lives from this write; nil forever. Must be positive.
    public var ttl: Duration?
    /// When the write may happen.
    public var condition: StoreCondition

    /// The metadata entry a fenced write (``Store/write(_:ifToken:)``) keeps its token in: `<token> <lock>`.
    public static let fenceMetadata = "Micro-Fence"

    /// A write.
    public init(key: String, value: [UInt8], metadata: [String: String] = [:], ttl: Duration? = nil,
                condition: StoreCondition = .always) {
        self.key = key
        self.value = value
        self.metadata = metadata
        self.ttl = ttl
        self.condition = condition
    }

    /// Throws the ``StoreError`` a backend answers this write with before touching anything: an invalid
    /// key, a value or metadata over `limits`, metadata holding NUL, a TTL that is not positive.
    public func validate(_ limits: StoreLimits) throws {
        try StoreKey.validate(key)
        guard value.count <= limits.maxValueBytes else {
            throw StoreError(.tooLarge, "value of '\(StoreKey.printable(key))' is \(value.count) bytes, the limit is \(limits.maxValueBytes)")
        }
        var metadataBytes = 0
        for (name, text) in metadata {
            metadataBytes += name.utf8.count + text.utf8.count
            if name.utf8.contains(0) || text.utf8.contains(0) {
                throw StoreError(.invalidArgument, "metadata may not hold NUL (entry '\(StoreKey.printable(name))')")
            }
        }
        guard metadataBytes <= limits.maxMetadataBytes else {
            throw StoreError(.tooLarge, "metadata of '\(StoreKey.printable(key))' is \(metadataBytes) bytes, the limit is \(limits.maxMetadataBytes)")
        }
        if let ttl, ttl <= .zero { throw StoreError(.invalidArgument, "a TTL must be positive, got \(ttl)") }
    }

    /// The expiry, in milliseconds since 1970, of a record written at `now` (ms): rounded up to whole
    /// milliseconds so a TTL never shortens.
    public func expiryMilliseconds(now: Int64) -> Int64? {
        guard let ttl else { return nil }
        let (seconds, attoseconds) = ttl.components
        let (ms, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        let extra = (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        guard !overflow else { return Int64.max }
        let (total, overflow2) = ms.addingReportingOverflow(extra)
        guard !overflow2 else { return Int64.max }
        let (expiry, overflow3) = now.addingReportingOverflow(total)
        return overflow3 ? Int64.max : expiry
    }
}
