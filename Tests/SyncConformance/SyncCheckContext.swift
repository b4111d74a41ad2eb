import MicroCore

/// What a check works with: an engine, names of its own, and expectations that throw a
/// ``SyncConformanceFailure``.
struct SyncCheckContext: Sendable {
    let sync: any Sync
    let backend: String
    let shortTTL: Duration
    let prefix: String

    /// A lock name no other check uses.
    func name(_ suffix: String) -> String { "\(prefix).\(suffix)" }

    func expect(_ condition: Bool, _ message: @autoclosure () -> String, line: Int = #line, file: String = #fileID) throws {
        guard condition else { throw SyncConformanceFailure(description: "[\(backend)] \(file):\(line): \(message())") }
    }

    /// Runs `body`, which must fail with a ``SyncError`` of `code`.
    func expectError<T>(_ code: SyncError.Code, _ what: String, line: Int = #line, file: String = #fileID,
                        _ body: () async throws -> T) async throws {
        do {
            let result = try await body()
            throw SyncConformanceFailure(description: "[\(backend)] \(file):\(line): \(what): expected \(code), succeeded with \(result)")
        } catch let error as SyncError {
            try expect(error.code == code, "\(what): expected \(code), got \(error)", line: line, file: file)
        } catch let failure as SyncConformanceFailure {
            throw failure
        } catch {
            throw SyncConformanceFailure(description: "[\(backend)] \(file):\(line): \(what): expected SyncError \(code), got \(type(of: error)): \(error)")
        }
    }

    /// Acquires `key` by the primitive until it succeeds or `within` passes.
    func acquireEventually(_ key: String, holder: String, ttl: Duration, within: Duration) async throws -> LockGrant? {
        let deadline = ContinuousClock.now + within
        while ContinuousClock.now < deadline {
            if let grant = try await sync.acquire(key, holder: holder, ttl: ttl) { return grant }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }
}
