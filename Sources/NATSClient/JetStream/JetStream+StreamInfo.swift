import Foundation

extension JetStream {
    /// What `STREAM.INFO` (and create, update) answers: the configuration and the state.
    public struct StreamInfo: Sendable, Hashable, Decodable {
        /// The configuration in force.
        public var configuration: StreamConfiguration
        /// When the stream was created.
        public var created: Date?
        /// Its messages and sequences now.
        public var state: StreamState

        private enum CodingKeys: String, CodingKey { case configuration = "config", created, state }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            configuration = try c.decode(StreamConfiguration.self, forKey: .configuration)
            created = try c.decodeIfPresent(String.self, forKey: .created).flatMap(JetStreamJSON.date(rfc3339:))
            state = try c.decodeIfPresent(StreamState.self, forKey: .state) ?? StreamState()
        }
    }
}
