import Foundation
import MicroCore
import Synchronization

/// What a check works with: engines from the factories (shut down after the check), topics of its
/// own, and expectations that throw a ``EventsConformanceFailure``.
final class EventsCheckContext: Sendable {
    let backend: String
    /// A prefix no other check's topics have.
    let prefix: String
    private let makeStream: (@Sendable () async throws -> any EventStream)?
    private let makeStore: (@Sendable (EventRetention) async throws -> any EventStore)?
    private let engines = Mutex<[any Engine]>([])

    init(backend: String, prefix: String, makeStream: (@Sendable () async throws -> any EventStream)?,
         makeStore: (@Sendable (EventRetention) async throws -> any EventStore)?) {
        self.backend = backend
        self.prefix = prefix
        self.makeStream = makeStream
        self.makeStore = makeStore
    }

    /// A topic of this check: `<prefix>.<name>`.
    func topic(_ name: String) -> String { "\(prefix).\(name)" }

    func stream() async throws -> any EventStream {
        guard let makeStream else { throw EventsConformanceFailure(description: "[\(backend)] no stream factory") }
        let stream = try await makeStream()
        engines.withLock { $0.append(stream) }
        return stream
    }

    func store(_ retention: EventRetention = EventRetention()) async throws -> any EventStore {
        guard let makeStore else { throw EventsConformanceFailure(description: "[\(backend)] no store factory") }
        let store = try await makeStore(retention)
        engines.withLock { $0.append(store) }
        return store
    }

    func shutdownAll() async {
        let all = engines.withLock { e -> [any Engine] in defer { e = [] }; return e }
        for engine in all { await engine.shutdown() }
    }

    func failure(_ message: String, line: Int, file: String) -> EventsConformanceFailure {
        EventsConformanceFailure(description: "[\(backend)] \(file):\(line): \(message)")
    }

    func expect(_ condition: Bool, _ message: @autoclosure () -> String, line: Int = #line, file: String = #fileID) throws {
        guard condition else { throw failure(message(), line: line, file: file) }
    }

    func expectEqual<T: Equatable>(_ actual: T, _ expected: T, _ what: String, line: Int = #line, file: String = #fileID) throws {
        try expect(actual == expected, "\(what): got \(actual), expected \(expected)", line: line, file: file)
    }

    /// Runs `body`, which must fail with an ``EventsError`` of `code`.
    func expectError<T>(_ code: EventsError.Code, _ what: String, line: Int = #line, file: String = #fileID,
                        _ body: () async throws -> T) async throws {
        do {
            let result = try await body()
            throw failure("\(what): expected \(code), succeeded with \(result)", line: line, file: file)
        } catch let error as EventsError {
            try expect(error.code == code, "\(what): expected \(code), got \(error)", line: line, file: file)
        } catch let failure as EventsConformanceFailure {
            throw failure
        } catch {
            throw failure("\(what): expected EventsError \(code), got \(type(of: error)): \(error)", line: line, file: file)
        }
    }

    /// The next event of `consumer` within `timeout`, or a failure.
    func next(_ consumer: EventConsumer, within timeout: Duration = .seconds(10), _ what: String,
              line: Int = #line, file: String = #fileID) async throws -> Event {
        guard let event = try await nextOrNil(consumer, within: timeout) else {
            throw failure("\(what): no event within \(timeout)", line: line, file: file)
        }
        return event
    }

    /// The next event of `consumer` within `timeout`, nil when none came.
    func nextOrNil(_ consumer: EventConsumer, within timeout: Duration) async throws -> Event? {
        try await consumer.next(within: timeout)
    }
}

extension EventConsumer {
    /// The next event within `timeout`, nil when none came (for tests of every backend).
    public func next(within timeout: Duration) async throws -> Event? {
        try await withThrowingTaskGroup(of: Event?.self) { group in
            group.addTask {
                var iterator = makeAsyncIterator()
                return try await iterator.next()
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}

/// Ids several tasks of a check collect.
final class EventsTally: Sendable {
    private let ids = Mutex<[String]>([])

    func add(_ id: String) { ids.withLock { $0.append(id) } }
    var count: Int { ids.withLock { $0.count } }
}
