import MicroCore
import NIOConcurrencyHelpers
import Testing

@Suite struct RegistryWatchTasksTests {
    /// A body that runs until cancelled, recording that it started and ended.
    private func following(_ log: NIOLockedValueBox<[String]>) -> @Sendable () async -> Void {
        {
            log.withLockedValue { $0.append("started") }
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
            log.withLockedValue { $0.append("cancelled") }
        }
    }

    @Test func aConsumerThatLeavesCancelsItsTask() async throws {
        let tasks = RegistryWatchTasks()
        let log = NIOLockedValueBox<[String]>([])
        let ended = NIOLockedValueBox(false)
        var watch: RegistryWatch? = {
            let (stream, continuation) = RegistryWatch.makeStream()
            let started = tasks.start(continuation, onEnd: { ended.withLockedValue { $0 = true } }, following(log))
            #expect(started)
            return stream
        }()
        #expect(await eventually { log.withLockedValue { $0 } == ["started"] })
        #expect(tasks.count == 1)
        watch = nil   // the consumer drops the stream
        _ = watch
        #expect(await eventually { log.withLockedValue { $0 } == ["started", "cancelled"] })
        #expect(await eventually { tasks.count == 0 })
        #expect(ended.withLockedValue { $0 })
        await tasks.close()
    }

    @Test func aBodyThatReturnsEndsItsWatch() async throws {
        let tasks = RegistryWatchTasks()
        let (stream, continuation) = RegistryWatch.makeStream()
        let started = tasks.start(continuation) { continuation.yield(.init(action: .create, service: ServiceRecord(name: "a"))) }
        #expect(started)
        var names: [String] = []
        for try await event in stream { names.append(event.service.name) }   // ends: the body returned
        #expect(names == ["a"])
        #expect(await eventually { tasks.count == 0 })
        await tasks.close()
    }

    @Test func closeCancelsAndWaitsForEveryTaskThenRefusesNewOnes() async throws {
        let tasks = RegistryWatchTasks()
        let log = NIOLockedValueBox<[String]>([])
        var streams: [RegistryWatch] = []
        for _ in 0..<3 {
            let (stream, continuation) = RegistryWatch.makeStream()
            let started = tasks.start(continuation, following(log))
            #expect(started)
            streams.append(stream)
        }
        #expect(await eventually { log.withLockedValue { $0.count } == 3 })
        await tasks.close()
        #expect(log.withLockedValue { $0.filter { $0 == "cancelled" }.count } == 3)   // awaited, not just cancelled
        for stream in streams {
            var iterator = stream.makeAsyncIterator()
            #expect(try await iterator.next() == nil)
        }
        let (late, continuation) = RegistryWatch.makeStream()
        let refused = !tasks.start(continuation, following(log))
        #expect(refused)
        var iterator = late.makeAsyncIterator()
        #expect(try await iterator.next() == nil)   // finished at once
        #expect(log.withLockedValue { $0.count } == 6)
    }
}
