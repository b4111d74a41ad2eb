import MicroCore

/// A runtime operation that failed: what kind of failure and the detail (a clone's stderr, a
/// compiler's errors, the cycle of a manifest). Codes are an open set, as ``StoreError``'s are.
public struct RuntimeError: Error, Sendable, Hashable, CustomStringConvertible, MicroErrorConvertible {
    /// The kinds of runtime failure, open for additions.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: String, Sendable, Hashable {
            case badSource, missingRef, fetchFailed, badManifest, cycle, missingProduct, buildFailed, startFailed,
                 crashLoop, notFound, alreadyExists, unhealthy, unavailable, imageFailed, pushFailed, notConfigured
        }
        private let wrapped: Wrapped
        /// The source is not a URL or path the runtime can fetch (`ftp://…`, an empty string, a path that is not there).
        public static let badSource = Code(wrapped: .badSource)
        /// The source was fetched but has no branch, tag or commit by the requested ref.
        public static let missingRef = Code(wrapped: .missingRef)
        /// `git clone` or `git fetch` failed; the detail holds git's own message.
        public static let fetchFailed = Code(wrapped: .fetchFailed)
        /// `micro.yaml` is not a manifest: bad YAML, a wrong field, too large.
        public static let badManifest = Code(wrapped: .badManifest)
        /// The manifests' dependencies form a cycle; the detail names it (`a -> b -> a`).
        public static let cycle = Code(wrapped: .cycle)
        /// The package has no executable product by the name asked, or several and none was named.
        public static let missingProduct = Code(wrapped: .missingProduct)
        /// `swift build` failed; the detail holds the compiler's errors.
        public static let buildFailed = Code(wrapped: .buildFailed)
        /// The OCI image could not be made (`ldd`, `buildah`); the detail holds the tool's own message.
        public static let imageFailed = Code(wrapped: .imageFailed)
        /// The image registry refused the image or could not be reached (`buildah push`); the detail holds its message.
        public static let pushFailed = Code(wrapped: .pushFailed)
        /// The runtime asked for is not set up here (the Kubernetes runtime without an API server or an image registry).
        public static let notConfigured = Code(wrapped: .notConfigured)
        /// The executable (or its container) could not be started.
        public static let startFailed = Code(wrapped: .startFailed)
        /// The service kept crashing and reached the restart limit.
        public static let crashLoop = Code(wrapped: .crashLoop)
        /// No service by that name is known to the runtime.
        public static let notFound = Code(wrapped: .notFound)
        /// A service by that name already runs.
        public static let alreadyExists = Code(wrapped: .alreadyExists)
        /// A service did not become healthy (registered and answering `Debug.Health`) in time.
        public static let unhealthy = Code(wrapped: .unhealthy)
        /// The runtime is not running (shut down, or not started yet).
        public static let unavailable = Code(wrapped: .unavailable)

        /// The code named by ``description`` (`badSource`, ...), nil for an unknown name.
        public init?(named name: String) {
            guard let wrapped = Wrapped(rawValue: name) else { return nil }
            self.wrapped = wrapped
        }
        private init(wrapped: Wrapped) { self.wrapped = wrapped }
        public var description: String { wrapped.rawValue }
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

    public var description: String { "runtime \(code): \(detail)" }

    /// As a ``MicroError`` from `runtime`: 404 for an unknown service, 409 for a duplicate, 503 when the
    /// runtime is down, else 400; the detail is ``description``.
    public var microError: MicroError {
        let id = "runtime"
        switch code {
        case .notFound: return .notFound(id, description)
        case .alreadyExists: return .conflict(id, description)
        case .unavailable: return .unavailable(id, description)
        default: return .badRequest(id, description)
        }
    }
}
