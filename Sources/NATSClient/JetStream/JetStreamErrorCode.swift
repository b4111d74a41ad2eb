/// JetStream's error numbers (`err_code` of an API error, as in nats-server's `errors.json`); an open
/// set: any number the server sends is kept.
public struct JetStreamErrorCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The number.
    public let rawValue: Int

    /// The code `rawValue`.
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// 10003: the request was not understood.
    public static let badRequest = JetStreamErrorCode(rawValue: 10003)
    /// 10013: a consumer of that name exists with another configuration.
    public static let consumerNameExists = JetStreamErrorCode(rawValue: 10013)
    /// 10014: no such consumer.
    public static let consumerNotFound = JetStreamErrorCode(rawValue: 10014)
    /// 10037: no message matches a message get.
    public static let noMessageFound = JetStreamErrorCode(rawValue: 10037)
    /// 10039: JetStream is not enabled for the account.
    public static let notEnabledForAccount = JetStreamErrorCode(rawValue: 10039)
    /// 10054: the message is larger than the stream's `max_msg_size`.
    public static let messageExceedsMaximum = JetStreamErrorCode(rawValue: 10054)
    /// 10097: the headers are larger than the 64 KiB JetStream stores.
    public static let headerExceedsMaximum = JetStreamErrorCode(rawValue: 10097)
    /// 10058: a stream of that name exists with another configuration.
    public static let streamNameExists = JetStreamErrorCode(rawValue: 10058)
    /// 10059: no such stream.
    public static let streamNotFound = JetStreamErrorCode(rawValue: 10059)
    /// 10065: the subjects overlap with another stream's.
    public static let streamSubjectOverlap = JetStreamErrorCode(rawValue: 10065)
    /// 10070: `Nats-Expected-Last-Msg-Id` did not match.
    public static let streamWrongLastMsgID = JetStreamErrorCode(rawValue: 10070)
    /// 10071: `Nats-Expected-Last-Sequence` or `Nats-Expected-Last-Subject-Sequence` did not match.
    public static let streamWrongLastSequence = JetStreamErrorCode(rawValue: 10071)
    /// 10076: JetStream is not enabled.
    public static let notEnabled = JetStreamErrorCode(rawValue: 10076)
    /// 10077: the stream could not store the message.
    public static let streamStoreFailed = JetStreamErrorCode(rawValue: 10077)

    public var description: String { "\(rawValue)" }
}
