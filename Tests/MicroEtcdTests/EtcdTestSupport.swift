@testable import EtcdClient
import Foundation
import Logging
import MicroCore
import MicroEtcd
import MicroTestSupport
import Synchronization

/// A value shared between a test and the tasks it starts.
final class Box<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { value.withLock { body(&$0) } }
    var get: Value { value.withLock { $0 } }
}

enum EtcdTest {
    /// Waits until `condition` holds (polling every 25 ms), at most `timeout`.
    static func eventually(_ timeout: Duration = .seconds(6), _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return await condition()
    }

    /// A record like the conformance suite's: metadata, an endpoint with nested values, one node per id.
    static func record(_ name: String = "conf", version: String = "1.0.0", nodes: [String], meta: [String: String] = [:]) -> ServiceRecord {
        ServiceRecord(
            name: name, version: version, metadata: ["team": "core"],
            endpoints: [Endpoint(name: "Conf.Hello", request: Value(name: "Req", type: "Req", values: [Value(name: "name", type: "string")]),
                                 response: Value(name: "Rsp", type: "Rsp"), metadata: ["stream": "false"])],
            nodes: nodes.map { Node(id: $0, address: "127.0.0.1:8080", metadata: ["protocol": "mucp"].merging(meta) { $1 }) })
    }

    /// The node ids `registry` sees for `name`, across versions.
    static func nodeIDs(_ registry: any Registry, _ name: String) async -> Set<String> {
        Set(((try? await registry.getService(name)) ?? []).flatMap(\.nodes).map(\.id))
    }

    /// The tests' logger: quiet, or everything on stderr when `MICRO_ETCD_TEST_LOG` is set (for diagnosis).
    static func logger(_ label: String) -> Logger {
        guard ProcessInfo.processInfo.environment["MICRO_ETCD_TEST_LOG"] != nil else { return Logger(label: label) }
        var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .debug
        return logger
    }

    /// A registry with a client of its own on `etcd`'s members (in the given order: the first is used first).
    static func registry(_ endpoints: [String], renewal: EtcdRegistryConfiguration.LeaseRenewal = .onRegister,
                         logger: Logger = EtcdTest.logger("test.etcd")) throws -> EtcdRegistry {
        var r = EtcdRegistryConfiguration()
        r.leaseRenewal = renewal
        return try EtcdRegistry(etcd: configuration(endpoints), configuration: r, logger: logger)
    }

    /// Client settings for tests: the defaults, with a shorter quarantine.
    static func configuration(_ endpoints: [String]) throws -> EtcdConfiguration {
        var c = EtcdConfiguration(endpoints: try endpoints.map(EtcdEndpoint.init(parsing:)))
        c.memberQuarantine = .seconds(2)
        return c
    }

    /// Collects a registry watch's events for `service` in the background.
    static func collect(_ watch: RegistryWatch, service: String) -> (events: Box<[RegistryEvent]>, task: Task<Void, Never>) {
        let events = Box<[RegistryEvent]>([])
        let task = Task {
            do {
                for try await e in watch where e.service.name == service { events.withLock { $0.append(e) } }
            } catch {}
        }
        return (events, task)
    }
}

/// A TCP server on 127.0.0.1 that answers every connection with `junk` and closes it: a "member"
/// that speaks no HTTP/2 at all.
final class JunkServer: @unchecked Sendable {
    // Safety: `fd` is set once in init and closed once in `stop`; the accept thread only reads it.
    let port: Int
    private let fd: Int32
    private let junk: [UInt8]

    init(junk: [UInt8]) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw EngineMissing(description: "socket() failed") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw EngineMissing(description: "bind/listen failed")
        }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        self.fd = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
        self.junk = junk
        let listener = fd, bytes = junk
        Thread.detachNewThread {
            while true {
                let conn = accept(listener, nil, nil)
                if conn < 0 { return }
                _ = bytes.withUnsafeBytes { write(conn, $0.baseAddress, $0.count) }
                usleep(20_000)
                close(conn)
            }
        }
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}
