/// One behaviour of the store contract, run by ``StoreConformance/run(_:)``.
public struct StoreCheck: Sendable, CustomStringConvertible {
    /// The check's name, as test reports show it.
    public let name: String
    let body: @Sendable (StoreCheckContext) async throws -> Void

    init(_ name: String, _ body: @escaping @Sendable (StoreCheckContext) async throws -> Void) {
        self.name = name
        self.body = body
    }

    public var description: String { name }

    /// Every check.
    public static let all: [StoreCheck] = basics + queries + expiry + conditions + fencing + concurrency + scopes + listing + validation + codable
}
