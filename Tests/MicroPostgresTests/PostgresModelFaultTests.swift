import Foundation
import MicroCore
import MicroPostgres
import MicroTestSupport
import Synchronization
import Testing

private struct Order: Model, Identifiable, Equatable {
    var id: String
    var writer: Int
    var step: Int
    static let schema = ModelSchema(table: "orders", key: \Order.id, indexes: [\.writer])
}

/// Models when the server crashes under load, on a server of its own.
@Suite(.serialized) struct PostgresModelFaultTests {
    @Test func aServerCrashedUnderLoadLosesNoAcknowledgedCreateOrUpdate() async throws {
        let server = try await PostgresProcess()
        let store = try PostgresStore(url: server.url, operationTimeout: .seconds(3))
        let orders = store.model(Order.self)
        try await orders.create(Order(id: "warm", writer: -1, step: 0))
        let writers = 6, steps = 150
        let progress = Progress()

        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<writers {
                group.addTask {
                    // Each writer creates its rows, then moves each on with updates at its revision.
                    var step = 0
                    let deadline = ContinuousClock.now + .seconds(90)
                    while step < steps, ContinuousClock.now < deadline {
                        let id = "w\(w)-\(step % 10)"
                        do {
                            let written: Versioned<Order>
                            if step < 10 {
                                written = try await orders.create(Order(id: id, writer: w, step: step))
                            } else {
                                guard let current = try await orders.read(id) else { throw StoreError(.notFound, id) }
                                var next = current
                                next.step = step
                                written = try await orders.update(next)
                            }
                            progress.acknowledge(written)
                            step += 1
                        } catch let error as StoreError where error.code == .unavailable || error.code == .conflict {
                            // A create or update of unknown outcome is read back before going on.
                            progress.unavailable.add(1, ordering: .relaxed)
                            try await Task.sleep(for: .milliseconds(50))
                            if let found = try? await orders.read(id), found.step == step {
                                progress.acknowledge(found)
                                step += 1
                            }
                        }
                    }
                }
            }
            group.addTask {
                // Once every row is created and a quarter of the updates are acknowledged.
                while progress.count.load(ordering: .relaxed) < writers * (10 + steps / 4) { try await Task.sleep(for: .milliseconds(5)) }
                server.crash()
                try await Task.sleep(for: .milliseconds(300))
                try await server.start()
                progress.crashed.store(true, ordering: .releasing)
            }
            try await group.waitForAll()
        }

        let crashed = progress.crashed.load(ordering: .acquiring), afterRestart = progress.afterRestart.load(ordering: .relaxed)
        #expect(crashed)
        #expect(afterRestart > 0, "writes acknowledged after the restart, so the crash came under load")
        let acks = progress.acknowledged.withLock { $0 }
        #expect(acks.count == writers * 10, "every row created")
        var lost: [String] = []
        for (id, ack) in acks {
            guard let row = try await orders.read(id) else { lost.append("\(id): gone"); continue }
            if row.revision != ack.revision || row.value != ack.value {
                lost.append("\(id): acknowledged \(ack.value) at \(ack.revision), found \(row.value) at \(row.revision)")
            }
        }
        #expect(lost.isEmpty, "acknowledged writes lost (\(progress.unavailable.load(ordering: .relaxed)) unavailable or conflicting): \(lost.prefix(5))")
        #expect(try await orders.list(where: [\.writer == 0]).map(\.value.step).allSatisfy { $0 >= steps - 10 }, "every writer finished")
        await store.shutdown()
        server.stop()
    }

    /// What the writers saw.
    private final class Progress: Sendable {
        /// The last acknowledged create or update of each row.
        let acknowledged = Mutex<[String: Versioned<Order>]>([:])
        let crashed = Atomic<Bool>(false)
        /// Acknowledgements in all, and after the restart.
        let count = Atomic<Int>(0)
        let afterRestart = Atomic<Int>(0)

        func acknowledge(_ row: Versioned<Order>) {
            acknowledged.withLock { $0[row.value.id] = row }
            count.add(1, ordering: .relaxed)
            if crashed.load(ordering: .acquiring) { afterRestart.add(1, ordering: .relaxed) }
        }
        /// Operations that failed unavailable or conflicting (and were read back).
        let unavailable = Atomic<Int>(0)
    }
}
