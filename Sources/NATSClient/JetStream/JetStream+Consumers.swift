// Consumers: create, info, delete.
extension JetStream {
    /// Creates a consumer on `stream` (an identical one existing already is no error) and returns its
    /// info. With a ``ConsumerConfiguration/name`` or ``ConsumerConfiguration/durableName`` it is made
    /// under that name (`CONSUMER.CREATE.<stream>.<name>`), else the server names an ephemeral one.
    @discardableResult
    public func createConsumer(stream: String, _ configuration: ConsumerConfiguration) async throws -> ConsumerInfo {
        try Self.validateName(stream, "stream")
        var configuration = configuration
        if let durable = configuration.durableName {
            try Self.validateName(durable, "consumer")
            if configuration.name == nil { configuration.name = durable }
        }
        if let filter = configuration.filterSubject { try Self.validateSubject(filter, wildcards: true) }
        if let deliver = configuration.deliverSubject { try Self.validateSubject(deliver, wildcards: false) }
        struct Request: Encodable {
            var stream: String
            var config: ConsumerConfiguration
            private enum CodingKeys: String, CodingKey { case stream = "stream_name", config }
        }
        let operation: String
        if let name = configuration.name {
            try Self.validateName(name, "consumer")
            operation = "CONSUMER.CREATE.\(stream).\(name)"
        } else {
            operation = "CONSUMER.CREATE.\(stream)"
        }
        return try await call(operation, Request(stream: stream, config: configuration), as: ConsumerInfo.self)
    }

    /// The consumer's configuration and state; nil when there is no such consumer (or stream).
    public func consumerInfo(stream: String, name: String) async throws -> ConsumerInfo? {
        try Self.validateName(stream, "stream")
        try Self.validateName(name, "consumer")
        do {
            return try await call("CONSUMER.INFO.\(stream).\(name)", as: ConsumerInfo.self)
        } catch let error as JetStreamError where error.errorCode == .consumerNotFound || error.isStreamNotFound {
            return nil
        }
    }

    /// Deletes a consumer: true when it existed.
    @discardableResult
    public func deleteConsumer(stream: String, name: String) async throws -> Bool {
        try Self.validateName(stream, "stream")
        try Self.validateName(name, "consumer")
        do {
            return try await call("CONSUMER.DELETE.\(stream).\(name)", as: JetStreamSuccess.self).success ?? false
        } catch let error as JetStreamError where error.errorCode == .consumerNotFound || error.isStreamNotFound {
            return false
        }
    }
}
