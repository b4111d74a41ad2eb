/// A debug request that cannot be answered: a malformed argument, or too many log streams at once.
/// Codes are an open set.
public struct DebugError: Error, Sendable, Hashable, CustomStringConvertible, MicroErrorConvertible {
    /// The kinds of debug failure, open for additions.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: Sendable, Hashable { case invalidArgument, tooManyStreams }
        private let wrapped: Wrapped
        /// An argument is out of range or malformed (a negative count, an unknown level, a bad trace id).
        public static let invalidArgument = Code(wrapped: .invalidArgument)
        /// ``DebugLimits/maxStreams`` log streams are already being served.
        public static let tooManyStreams = Code(wrapped: .tooManyStreams)
        public var description: String { "\(wrapped)" }
    }

    /// What happened.
    public var code: Code
    /// Details, for people.
    public var detail: String

    /// Creates an error.
    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "debug \(code): \(detail)" }

    /// As a ``MicroError`` from `go.micro.debug`: 400 for a bad argument, 429 for too many streams.
    public var microError: MicroError {
        switch code {
        case .tooManyStreams: return MicroError(id: "go.micro.debug", code: 429, detail: description)
        default: return .badRequest("go.micro.debug", description)
        }
    }
}
