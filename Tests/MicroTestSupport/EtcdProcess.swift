import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real etcd started for one test: a single node or a cluster of several members, every member on
/// free loopback ports, each process known by its pid and killed by it.
///
/// Binaries: `$MICRO_ETCD` else `/usr/bin/etcd`, and `$MICRO_ETCDCTL` else `/usr/bin/etcdctl` (Debian's
/// `etcd-server` and `etcd-client`). A missing binary is an ``EngineMissing`` error: engine tests never
/// pass silently without their engine. Members use a 50 ms heartbeat and a 500 ms election timeout
/// (INFRA.md), so a cluster forms in well under a second and elects a new leader about a second after
/// losing one.
public final class EtcdProcess: @unchecked Sendable {
    // Safety: members' processes are touched only by the test that owns this value.

    /// One member.
    public struct Member: Sendable {
        /// Its name (`m0`, `m1`, ...).
        public let name: String
        /// The client port (127.0.0.1).
        public let clientPort: Int
        /// The peer port (127.0.0.1).
        public let peerPort: Int
        /// The metrics port (127.0.0.1).
        public let metricsPort: Int
        /// Its data directory.
        public let dataDirectory: URL

        /// `127.0.0.1:PORT`, the client endpoint.
        public var endpoint: String { "127.0.0.1:\(clientPort)" }
    }

    /// The members, in order.
    public let members: [Member]
    /// The directory holding every member's data and log.
    public let directory: URL
    /// Extra arguments given to every member.
    public let arguments: [String]
    private var processes: [Int: SpawnedProcess] = [:]

    /// `host:port` of every member, in order (for ``members`` the same order).
    public var endpoints: [String] { members.map(\.endpoint) }
    /// The endpoints comma-separated (`MICRO_REGISTRY_ADDRESS`).
    public var addressList: String { endpoints.joined(separator: ",") }

    /// The etcd binary, or a thrown error naming what is missing.
    public static func binary() throws -> String {
        try find(env: "MICRO_ETCD", ["/usr/bin/etcd", "/usr/local/bin/etcd"], what: "etcd")
    }

    /// The etcdctl binary, or a thrown error naming what is missing.
    public static func ctlBinary() throws -> String {
        try find(env: "MICRO_ETCDCTL", ["/usr/bin/etcdctl", "/usr/local/bin/etcdctl"], what: "etcdctl")
    }

    private static func find(env: String, _ paths: [String], what: String) throws -> String {
        var candidates: [String] = []
        if let e = ProcessInfo.processInfo.environment[env], !e.isEmpty { candidates.append(e) }
        candidates += paths
        for c in candidates where FileManager.default.isExecutableFile(atPath: c) { return c }
        throw EngineMissing(description: "\(what) not found (set \(env) or run ./scripts/test, which installs etcd-server and etcd-client)")
    }

    /// Starts `size` members (1: a single node) and waits until every one is healthy.
    public init(size: Int = 1, arguments: [String] = []) async throws {
        precondition(size >= 1)
        _ = try Self.binary()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("etcd-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var ports = Set<Int>()
        func port() throws -> Int {
            while true {
                let p = try freePort()
                if ports.insert(p).inserted { return p }
            }
        }
        var members: [Member] = []
        for i in 0..<size {
            members.append(Member(name: "m\(i)", clientPort: try port(), peerPort: try port(), metricsPort: try port(),
                                  dataDirectory: directory.appendingPathComponent("m\(i).etcd")))
        }
        self.members = members
        self.arguments = arguments
        for i in members.indices { try launch(i) }
        do {
            for i in members.indices { try await waitHealthy(i) }
        } catch {
            stop()
            throw error
        }
    }

    private func launch(_ index: Int) throws {
        precondition(processes[index] == nil, "member \(index) already running")
        let m = members[index]
        let cluster = members.map { "\($0.name)=http://127.0.0.1:\($0.peerPort)" }.joined(separator: ",")
        let p = try SpawnedProcess(try Self.binary(), [
            "--name", m.name, "--data-dir", m.dataDirectory.path,
            "--listen-client-urls", "http://127.0.0.1:\(m.clientPort)", "--advertise-client-urls", "http://127.0.0.1:\(m.clientPort)",
            "--listen-peer-urls", "http://127.0.0.1:\(m.peerPort)", "--initial-advertise-peer-urls", "http://127.0.0.1:\(m.peerPort)",
            "--listen-metrics-urls", "http://127.0.0.1:\(m.metricsPort)",
            "--initial-cluster", cluster, "--initial-cluster-state", "new",
            "--initial-cluster-token", directory.lastPathComponent,
            "--heartbeat-interval", "50", "--election-timeout", "500",
            "--logger", "zap", "--log-outputs", logURL(index).path,
        ] + arguments)
        processes[index] = p
    }

    private func logURL(_ index: Int) -> URL { directory.appendingPathComponent("\(members[index].name).log") }

    /// Waits until member `index` reports itself healthy (it has a leader and serves requests).
    public func waitHealthy(_ index: Int, timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let p = processes[index], !p.isRunning { break }
            if canConnect(port: members[index].clientPort),
               (try? ctl(["endpoint", "health", "--endpoints", members[index].endpoint, "--command-timeout", "1s"])) != nil {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw EngineMissing(description: "etcd member \(members[index].name) did not become healthy: \(log(index).suffix(800))")
    }

    /// Runs etcdctl (API v3) against every member with `args`; returns its output, throws when it fails.
    @discardableResult
    public func ctl(_ args: [String], endpoints: [String]? = nil) throws -> String {
        let hasEndpoints = args.contains { $0 == "--endpoints" || $0.hasPrefix("--endpoints=") }
        let arguments = (hasEndpoints ? [] : ["--endpoints", (endpoints ?? runningEndpoints).joined(separator: ",")]) + args
        return try ChildProcess.run(try Self.ctlBinary(), arguments, environment: ["ETCDCTL_API": "3"], timeout: .seconds(30))
    }

    /// The endpoints of the members running now.
    public var runningEndpoints: [String] { members.indices.filter { processes[$0]?.isRunning == true }.map { members[$0].endpoint } }

    /// The index of the member that is the leader now, per etcdctl's endpoint status (nil: none found).
    public func leaderIndex() throws -> Int? {
        struct EndpointStatus: Decodable {
            struct Inner: Decodable {
                struct Header: Decodable { var member_id: UInt64 }
                var header: Header
                var leader: UInt64
            }
            var Endpoint: String
            var Status: Inner
        }
        for i in members.indices where processes[i]?.isRunning == true {
            guard let out = try? ctl(["endpoint", "status", "-w", "json", "--command-timeout", "1s"], endpoints: [members[i].endpoint]),
                  let statuses = try? JSONDecoder().decode([EndpointStatus].self, from: Data(out.utf8)),
                  let s = statuses.first else { continue }
            if s.Status.leader != 0, s.Status.leader == s.Status.header.member_id { return i }
        }
        return nil
    }

    /// The pid of member `index` while it runs.
    public func pid(_ index: Int = 0) -> Int32? { processes[index].flatMap { $0.isRunning ? $0.pid : nil } }

    /// Kills member `index` with SIGKILL (a crash, not a shutdown) and reaps it.
    public func kill(_ index: Int = 0) {
        processes.removeValue(forKey: index)?.kill()
    }

    /// Starts member `index` again on its ports and data (after ``kill(_:)`` or ``stop(_:)``) and waits until it is healthy.
    public func restart(_ index: Int = 0) async throws {
        try launch(index)
        try await waitHealthy(index)
    }

    /// Stops member `index` (SIGTERM, then SIGKILL after 3 s) and reaps it.
    public func stop(_ index: Int) {
        processes.removeValue(forKey: index)?.terminate(grace: .seconds(3))
    }

    /// Stops every member.
    public func stop() {
        for i in members.indices { stop(i) }
    }

    /// Member `index`'s log so far (for failure messages).
    public func log(_ index: Int = 0) -> String { (try? String(contentsOf: logURL(index), encoding: .utf8)) ?? "" }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

extension EtcdProcess {
    /// The value of one Prometheus sample on member `index`'s metrics endpoint whose line starts with
    /// `sample` (the metric name and its labels as etcd prints them), nil when there is none.
    public func metric(_ sample: String, member index: Int = 0) throws -> Double? {
        let text = try httpGet(port: members[index].metricsPort, path: "/metrics")
        for line in text.split(separator: "\n") where line.hasPrefix(sample + " ") {
            return Double(line.dropFirst(sample.count + 1).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    /// How many `LeaseKeepAlive` streams member `index` has seen opened (etcd's own gRPC counter).
    public func keepAliveStreamsStarted(member index: Int = 0) throws -> Int {
        Int(try metric(#"grpc_server_started_total{grpc_method="LeaseKeepAlive",grpc_service="etcdserverpb.Lease",grpc_type="bidi_stream"}"#,
                       member: index) ?? 0)
    }

    /// How many unary calls of `method` of etcd's KV service member `index` has seen (`Range`, `Txn`, ...).
    public func kvCallsStarted(_ method: String, member index: Int = 0) throws -> Int {
        Int(try metric("grpc_server_started_total{grpc_method=\"\(method)\",grpc_service=\"etcdserverpb.KV\",grpc_type=\"unary\"}",
                       member: index) ?? 0)
    }
}

/// The body of an HTTP/1.0 GET of `path` on 127.0.0.1:`port` (at most 4 MiB, 5 s per read), for the
/// metrics endpoints of engines a test started.
public func httpGet(port: Int, path: String) throws -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw EngineMissing(description: "socket() failed") }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var addr = FreePorts.loopback(port: port)
    let connected = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw EngineMissing(description: "nothing answers on 127.0.0.1:\(port)") }
    let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
    guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else {
        throw EngineMissing(description: "could not send to 127.0.0.1:\(port)")
    }
    var response: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while response.count < 4 << 20 {
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        response += chunk[0..<n]
    }
    let text = String(decoding: response, as: UTF8.self)
    guard text.hasPrefix("HTTP/1.") && text.split(separator: " ").dropFirst().first == "200",
          let body = text.range(of: "\r\n\r\n") else {
        throw EngineMissing(description: "GET 127.0.0.1:\(port)\(path) answered: \(text.prefix(200))")
    }
    return String(text[body.upperBound...])
}
