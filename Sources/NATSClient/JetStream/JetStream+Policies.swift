extension JetStream {
    /// When a stream removes messages (`retention`).
    public enum RetentionPolicy: String, Sendable, Hashable, Codable {
        /// Keep messages up to the stream's limits.
        case limits
        /// Keep a message while some consumer has not acknowledged it.
        case interest
        /// Remove a message once one consumer acknowledged it.
        case workQueue = "workqueue"
    }

    /// What a full stream does with a new message (`discard`).
    public enum DiscardPolicy: String, Sendable, Hashable, Codable {
        /// Remove the oldest messages.
        case old
        /// Refuse the new message.
        case new
    }

    /// Where a stream or consumer keeps its state (`storage`).
    public enum StorageType: String, Sendable, Hashable, Codable {
        /// On disk, surviving restarts.
        case file
        /// In memory.
        case memory
    }

    /// Where a consumer starts (`deliver_policy`).
    public enum DeliverPolicy: String, Sendable, Hashable, Codable {
        /// From the first message.
        case all
        /// From the last message.
        case last
        /// Only messages published after the consumer was created.
        case new
        /// From ``ConsumerConfiguration/startSequence``.
        case byStartSequence = "by_start_sequence"
        /// From ``ConsumerConfiguration/startTime``.
        case byStartTime = "by_start_time"
        /// The last message of every subject, then new ones.
        case lastPerSubject = "last_per_subject"
    }

    /// How a consumer's messages are acknowledged (`ack_policy`).
    public enum AckPolicy: String, Sendable, Hashable, Codable {
        /// Not at all: delivered means done.
        case none
        /// Acknowledging one acknowledges every earlier one.
        case all
        /// Each message on its own.
        case explicit
    }

    /// How fast a consumer replays stored messages (`replay_policy`).
    public enum ReplayPolicy: String, Sendable, Hashable, Codable {
        /// As fast as the consumer takes them.
        case instant
        /// At the pace they were published.
        case original
    }
}
