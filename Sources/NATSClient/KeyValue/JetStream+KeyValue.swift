// Key-value buckets: create, open, delete, list.
extension JetStream {
    /// Creates the bucket (an identical one existing already is no error) and returns a handle on it.
    @discardableResult
    public func createKeyValue(_ configuration: KeyValueConfiguration) async throws -> KeyValue {
        try KeyValue.validateBucket(configuration.bucket)
        guard (1...64).contains(configuration.history) else {
            throw JetStreamError(.invalidArgument, "a bucket's history is 1 to 64, got \(configuration.history)")
        }
        let info = try await createStream(configuration.streamConfiguration)
        return try KeyValue(bucket: configuration.bucket, jetStream: self, allowDirect: info.configuration.allowDirect)
    }

    /// A handle on the bucket; nil when there is no such bucket. Throws ``JetStreamError/Code/invalidArgument``
    /// when its stream is not a key-value bucket's.
    public func keyValue(_ bucket: String) async throws -> KeyValue? {
        try KeyValue.validateBucket(bucket)
        guard let info = try await streamInfo(KeyValue.streamName(bucket)) else { return nil }
        guard info.configuration.maxMessagesPerSubject >= 1, info.configuration.subjects == ["\(KeyValue.subjectPrefix(bucket))>"] else {
            throw JetStreamError(.invalidArgument, "stream \(info.configuration.name) is not a key-value bucket")
        }
        return try KeyValue(bucket: bucket, jetStream: self, allowDirect: info.configuration.allowDirect)
    }

    /// Deletes the bucket and every value in it: true when it existed.
    @discardableResult
    public func deleteKeyValue(_ bucket: String) async throws -> Bool {
        try KeyValue.validateBucket(bucket)
        return try await deleteStream(KeyValue.streamName(bucket))
    }

    /// The names of the key-value buckets.
    public func keyValueBuckets() async throws -> [String] {
        try await streamNames(subject: "$KV.>").compactMap { $0.hasPrefix("KV_") ? String($0.dropFirst(3)) : nil }
    }
}
