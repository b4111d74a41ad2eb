/// The metric names and dimension values the metrics wrappers share.
enum MetricLabels {
    static let serverRequests = "micro_server_requests_total"
    static let serverDuration = "micro_server_request_duration_seconds"
    static let clientRequests = "micro_client_requests_total"
    static let clientDuration = "micro_client_request_duration_seconds"
    static let messagesReceived = "micro_broker_messages_received_total"
    static let messagesPublished = "micro_broker_messages_published_total"

    /// The `status` dimension of a successful call.
    static let success = "success"

    /// The `status` dimension of a failed call: the code of the MicroError the error becomes on the wire.
    static func status(of error: any Error, id: String) -> String {
        String(MicroError.from(error, id: id).code)
    }
}
