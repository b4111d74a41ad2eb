import NIOCore

// Pull consumers: fetching batches with CONSUMER.MSG.NEXT.
extension JetStream {
    /// Fetches up to `batch` messages from the pull consumer `consumer` of `stream`, waiting up to
    /// `expires` for them (with `noWait`, only what is there now). Returns fewer, or none, when the
    /// request expires first; the server's 409 (the consumer was deleted, too many waiting requests,
    /// ...) before any message is thrown as a ``JetStreamError/Code/api`` error.
    public func fetch(stream: String, consumer: String, batch: Int, expires: Duration = .seconds(5),
                      noWait: Bool = false) async throws -> [JetStreamMessage] {
        try Self.validateName(stream, "stream")
        try Self.validateName(consumer, "consumer")
        guard batch > 0 else { throw JetStreamError(.invalidArgument, "a batch is at least 1, got \(batch)") }
        guard expires >= .milliseconds(1) else { throw JetStreamError(.invalidArgument, "a fetch expires after at least 1 ms, got \(expires)") }
        struct Request: Encodable {
            var batch: Int
            var expires: Int64?
            var noWait: Bool?
            private enum CodingKeys: String, CodingKey { case batch, expires, noWait = "no_wait" }
        }
        let context = "fetch from \(stream) > \(consumer)"
        let connection = self.connection
        let inbox = connection.newInbox()
        let subscription: NATSSubscription
        do {
            subscription = try connection.subscribe(inbox)
            let body = Request(batch: batch, expires: noWait ? nil : JetStreamJSON.nanoseconds(expires), noWait: noWait ? true : nil)
            try await connection.publish(apiSubject("CONSUMER.MSG.NEXT.\(stream).\(consumer)"), payload: try JetStreamJSON.payload(body), replyTo: inbox)
        } catch {
            throw JetStreamError.wrapping(error, context)
        }
        defer { try? subscription.unsubscribe() }
        let wait = (noWait ? .zero : expires) + options.timeout
        return try await withThrowingTaskGroup(of: [JetStreamMessage]?.self) { group in
            group.addTask {
                var messages: [JetStreamMessage] = []
                for await message in subscription {
                    if let status = message.status {
                        switch status {
                        case 100: continue
                        case 404, 408: return messages
                        case 409 where !messages.isEmpty: return messages
                        default:
                            let text = message.headers?.statusDescription ?? ""
                            throw JetStreamError(.api, "\(context): status \(status) \(text)",
                                                 api: JetStreamAPIError(code: status, errorCode: JetStreamErrorCode(rawValue: 0), description: text))
                        }
                    }
                    messages.append(try JetStreamMessage(message, connection: connection))
                    if messages.count >= batch { return messages }
                }
                return messages
            }
            group.addTask {
                try await Task.sleep(for: wait)
                return nil
            }
            while let result = try await group.next() {
                if let messages = result {
                    group.cancelAll()
                    return messages
                }
                // The wait is over: ending the subscription ends the collection with what it has.
                try? subscription.unsubscribe()
            }
            return []
        }
    }
}
