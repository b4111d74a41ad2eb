/// The JSON of `CONNECT` (field names as the protocol spells them).
struct NATSConnectPayload: Encodable {
    var verbose: Bool
    var pedantic: Bool
    var tls_required: Bool
    var name: String?
    var lang: String
    var version: String
    var `protocol`: Int
    var headers: Bool
    var no_responders: Bool
    var echo: Bool
    var user: String?
    var pass: String?
    var auth_token: String?
}
