/// A configuration document, path or value that was refused: what kind of failure, and the detail.
/// Codes are an open set (like ``StoreError``), so later versions can add kinds.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kinds of configuration failure, open for additions.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: Sendable, Hashable {
            case invalidPath, invalidDocument, tooDeep, tooLarge, tooManyEntries, typeMismatch, notFound, unavailable
        }
        private let wrapped: Wrapped
        /// A path is empty where it may not be, too long, or has a component outside `[A-Za-z0-9_-]`.
        public static let invalidPath = Code(wrapped: .invalidPath)
        /// A document is not valid JSON (or not an object where one is required).
        public static let invalidDocument = Code(wrapped: .invalidDocument)
        /// Objects and arrays nest deeper than ``ConfigLimits/maxDepth`` (the path's depth included).
        public static let tooDeep = Code(wrapped: .tooDeep)
        /// A document, the documents together, or an array is larger than ``ConfigLimits`` allows.
        public static let tooLarge = Code(wrapped: .tooLarge)
        /// The merged tree holds more values than ``ConfigLimits/maxEntries``.
        public static let tooManyEntries = Code(wrapped: .tooManyEntries)
        /// A value exists at the path but is not of the requested type.
        public static let typeMismatch = Code(wrapped: .typeMismatch)
        /// Nothing is at the path.
        public static let notFound = Code(wrapped: .notFound)
        /// The source cannot be reached or used now.
        public static let unavailable = Code(wrapped: .unavailable)
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

    public var description: String { "config \(code): \(detail)" }
}
