extension Account {
    /// The issuer of accounts that stand for a verified client certificate.
    public static let certificateIssuer = "x509"
    /// The prefix of the one scope a certificate's account holds: `x509:<identity>`.
    public static let certificateScopePrefix = "x509:"

    /// The account of a client certificate verified over mutual TLS (``RPCRequest/peerIdentity``): a
    /// `service` account named after the identity, issued by ``certificateIssuer``, holding the scope
    /// `x509:<identity>`, so a rule grants one certificate (`--scope x509:spiffe://micro/billing`) or,
    /// with scope `*`, any signed-in caller, certificate or token.
    public static func certificate(_ identity: String) -> Account {
        Account(id: identity, type: .service, issuer: certificateIssuer, scopes: [certificateScopePrefix + identity])
    }
}
