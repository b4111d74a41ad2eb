/// What a server stream's two handlers share: the request checker and the response-headers
/// rewriter. Touched on the stream's event loop only.
final class GRPCServerStreamState {
    /// The content type to answer with, when the caller used a `+subtype`.
    var responseContentType: String?
    /// Whether response headers went out (a rejection then sends trailers only, without `:status`).
    var sentResponseHeaders = false
    /// Whether the request checker answered with an error status itself.
    var rejected = false
}
