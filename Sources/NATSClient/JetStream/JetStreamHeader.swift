/// The header names of JetStream.
public enum JetStreamHeader {
    /// `Nats-Msg-Id`.
    public static let messageID = "Nats-Msg-Id"
    /// `Nats-Expected-Stream`.
    public static let expectedStream = "Nats-Expected-Stream"
    /// `Nats-Expected-Last-Sequence`.
    public static let expectedLastSequence = "Nats-Expected-Last-Sequence"
    /// `Nats-Expected-Last-Subject-Sequence`.
    public static let expectedLastSubjectSequence = "Nats-Expected-Last-Subject-Sequence"
    /// `Nats-Expected-Last-Msg-Id`.
    public static let expectedLastMessageID = "Nats-Expected-Last-Msg-Id"
    /// `Nats-Rollup`.
    public static let rollup = "Nats-Rollup"
    /// `Nats-Stream`, on a direct get's answer.
    public static let stream = "Nats-Stream"
    /// `Nats-Subject`, on a direct get's answer.
    public static let subject = "Nats-Subject"
    /// `Nats-Sequence`, on a direct get's answer.
    public static let sequence = "Nats-Sequence"
    /// `Nats-Time-Stamp`, on a direct get's answer.
    public static let timeStamp = "Nats-Time-Stamp"
    /// `Nats-Last-Consumer`, on an idle heartbeat.
    public static let lastConsumer = "Nats-Last-Consumer"
    /// `Nats-Last-Stream`, on an idle heartbeat.
    public static let lastStream = "Nats-Last-Stream"
    /// `Nats-Consumer-Stalled`, on an idle heartbeat of a consumer waiting for a flow control answer.
    public static let consumerStalled = "Nats-Consumer-Stalled"
}
