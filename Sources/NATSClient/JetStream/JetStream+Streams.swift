// Streams: create, update, info, delete, purge, names.
extension JetStream {
    /// Creates a stream (an identical one existing already is no error) and returns its info.
    @discardableResult
    public func createStream(_ configuration: StreamConfiguration) async throws -> StreamInfo {
        try Self.validateName(configuration.name, "stream")
        return try await call("STREAM.CREATE.\(configuration.name)", configuration, as: StreamInfo.self)
    }

    /// Changes a stream's configuration and returns its info.
    @discardableResult
    public func updateStream(_ configuration: StreamConfiguration) async throws -> StreamInfo {
        try Self.validateName(configuration.name, "stream")
        return try await call("STREAM.UPDATE.\(configuration.name)", configuration, as: StreamInfo.self)
    }

    /// The stream's configuration and state; nil when there is no such stream.
    public func streamInfo(_ name: String) async throws -> StreamInfo? {
        try Self.validateName(name, "stream")
        do {
            return try await call("STREAM.INFO.\(name)", as: StreamInfo.self)
        } catch let error as JetStreamError where error.isStreamNotFound {
            return nil
        }
    }

    /// Deletes a stream with its messages and consumers: true when it existed.
    @discardableResult
    public func deleteStream(_ name: String) async throws -> Bool {
        try Self.validateName(name, "stream")
        do {
            return try await call("STREAM.DELETE.\(name)", as: JetStreamSuccess.self).success ?? false
        } catch let error as JetStreamError where error.isStreamNotFound {
            return false
        }
    }

    /// Removes messages from a stream (those of subjects matching `filter`, when given; keeping the
    /// last `keep` of each, or those from `sequence` on, when given) and returns how many went.
    @discardableResult
    public func purgeStream(_ name: String, filter: String? = nil, keep: UInt64? = nil, sequence: UInt64? = nil) async throws -> UInt64 {
        try Self.validateName(name, "stream")
        if let filter { try Self.validateSubject(filter, wildcards: true) }
        struct Request: Encodable {
            var filter: String?
            var keep: UInt64?
            var seq: UInt64?
        }
        struct Response: Decodable {
            var success: Bool?
            var purged: UInt64?
        }
        let response = try await call("STREAM.PURGE.\(name)", Request(filter: filter, keep: keep, seq: sequence), as: Response.self)
        guard response.success == true else { throw JetStreamError(.invalidResponse, "STREAM.PURGE.\(name): the server did not confirm") }
        return response.purged ?? 0
    }

    /// The names of the streams (those taking subjects that overlap `subject`, when given), page by
    /// page up to `limit` names.
    public func streamNames(subject: String? = nil, limit: Int = 100_000) async throws -> [String] {
        if let subject { try Self.validateSubject(subject, wildcards: true) }
        struct Request: Encodable {
            var offset: Int
            var subject: String?
        }
        struct Response: Decodable {
            var total: Int?
            var streams: [String]?
        }
        var names: [String] = []
        while names.count < limit {
            let page = try await call("STREAM.NAMES", Request(offset: names.count, subject: subject), as: Response.self)
            let streams = page.streams ?? []
            names += streams.prefix(limit - names.count)
            guard !streams.isEmpty, names.count < (page.total ?? 0) else { break }
        }
        return names
    }
}
