import Foundation
import MicroCore
import NIOCore
import Synchronization

/// A value behind a mutex, shareable between tasks.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    @discardableResult
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
    var value: Value { mutex.withLock { $0 } }
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes; returns whether it held.
func waitUntil(timeout: Duration = .seconds(2), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let clock = ContinuousClock()
    let end = clock.now + timeout
    while clock.now < end {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

/// Consumes a registry watch in the background and keeps what it saw.
final class EventCollector: Sendable {
    let events = Locked<[RegistryEvent]>([])
    private let task: Task<Void, Never>

    init(_ watch: RegistryWatch) {
        let box = events
        task = Task {
            do { for try await e in watch { box.withLock { $0.append(e) } } } catch {}
        }
    }

    /// Waits (up to 2 s) until at least `count` events arrived; returns all seen so far.
    func wait(count: Int) async -> [RegistryEvent] {
        _ = await waitUntil { events.value.count >= count }
        return events.value
    }

    func stop() { task.cancel() }
    deinit { task.cancel() }
}

/// In-memory registry, transport and broker shared by test servers and clients.
struct Cluster {
    let registry = MemoryRegistry()
    let transport = MemoryTransport()
    let broker = MemoryBroker()

    /// Listens with `router` on a fresh memory address and registers a node for it.
    @discardableResult
    func serve(_ router: Router, service: String, version: String = "latest", nodeID: String,
               nodeMetadata: [String: String] = [:]) async throws -> any TransportListener {
        let listener = try await transport.listen(on: "", handler: router)
        try await registry.register(ServiceRecord(
            name: service, version: version, endpoints: router.endpoints,
            nodes: [Node(id: nodeID, address: listener.address, metadata: nodeMetadata)]))
        return listener
    }

    func client(defaults: CallOptions = CallOptions(), strategy: SelectionStrategy = .random) -> Client {
        Client(registry: registry, transports: [transport], broker: broker, defaults: defaults, strategy: strategy)
    }
}

func json(_ buffer: ByteBuffer) -> String { String(buffer: buffer) }

func jsonObject(_ buffer: ByteBuffer) throws -> [String: Any] {
    let any = try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))
    guard let dict = any as? [String: Any] else { throw MicroError.badRequest("test", "not a JSON object: \(json(buffer))") }
    return dict
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Polls `condition` until it holds or 3 s pass.
func eventually(_ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(3)
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return condition()
}
