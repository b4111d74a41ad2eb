import ArgumentParser
import Foundation
import Micro

/// Where `micro store` commands find records: the store service (default `go.micro.store`) or, with
/// `--local`, the store `MICRO_STORE` names; and the database and table.
struct StoreOptions: ParsableArguments {
    @Option(help: "Database (default micro).") var database: String?
    @Option(help: "Table (default micro).") var table: String?
    @Flag(help: "Open the store MICRO_STORE names (default sqlite under MICRO_HOME) instead of calling a store service.") var local = false
    @Option(help: "The store service to call (default go.micro.store).") var service: String = StoreHandler.serviceName

    /// The scope the options name; throws ``StoreError/Code/invalidName`` for a bad name.
    func scope() throws -> StoreScope {
        try StoreScope(database: database ?? StoreScope.default.database, table: table ?? StoreScope.default.table)
    }

    /// Runs `body` with the store, bound to the scope, and closes what was opened for it.
    func withStore<T: Sendable>(_ global: GlobalOptions, _ body: (any Store) async throws -> T) async throws -> T {
        let scope = try scope()
        guard local else {
            return try await global.withClient { client in
                try await body(RemoteStore(client: client, service: service, scope: scope, options: global.callOptions))
            }
        }
        let store = try GlobalOptions.engines.makeStore(EngineContext(environment: global.environment))
        let result: T
        do { result = try await body(store.scoped(scope)) } catch {
            await store.shutdown()
            throw error
        }
        await store.shutdown()
        return result
    }

    /// Parses a duration: a number with a unit (`ns`, `us`, `ms`, `s`, `m`, `h`, as Go writes them,
    /// e.g. `10s`, `1.5h`, `250ms`), or a bare number of seconds; positive and at most a year.
    static func duration(_ text: String) throws -> Duration {
        let units: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]
        var number = Substring(text)
        var scale = 1.0
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            number = text.dropLast(suffix.count)
            scale = factor
            break
        }
        guard let value = Double(number), value.isFinite, value > 0, value * scale <= maxSeconds else {
            throw ValidationError("a duration is a positive number with a unit (ns, us, ms, s, m, h), e.g. 10s, at most a year; got '\(text)'")
        }
        let nanoseconds = (value * scale * 1e9).rounded(.up)
        return .nanoseconds(Int64(nanoseconds))
    }
}
