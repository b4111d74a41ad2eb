import Foundation
import Logging
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The embedded default registry: processes on one machine find each other through a shared
/// directory, one JSON file per node, with nothing to install or run.
///
/// Layout: `<directory>/<service>/<node-id>.json` holding
/// `{"service": <record with that one node>, "expires": <unix seconds> | null}`. Names are
/// percent-encoded so no name can leave the directory; files are written to a temporary name and
/// renamed, so readers never see a torn file. Watches poll the directory.
///
/// Whoever can write the directory can register nodes that receive your calls and their metadata, so
/// the directories it creates are private to the user (mode 0700, files 0600); a directory that
/// already exists keeps its mode (create it yourself with a group's access to share a registry).
/// Files that cannot be used are skipped, and each read reports them in one warning with their count.
public final class LocalRegistry: Registry {
    /// Always `local`.
    public let name = "local"
    /// The directory holding one subdirectory per service.
    public let directory: String
    private let pollInterval: Duration
    private let logger: Logger
    /// Paths already reported as unreadable, so each is counted in a warning once.
    private let warned = NIOLockedValueBox(Set<String>())
    /// The tasks feeding watches (for tests, their count proves watches stop).
    private let watchTasks = RegistryWatchTasks()

    /// Largest node file read; bigger ones are skipped as corrupt.
    static let maxFileSize = 1 << 20
    /// How long past its expiry a node file is left before a reader deletes it.
    static let expiredGrace: Double = 10
    /// How old an abandoned temporary file must be before a reader deletes it.
    static let staleTempAge: Double = 60
    private static let errorID = "micro.registry.local"
    private static let warnedLimit = 10_000

    /// A registry in `directory` (default: ``defaultDirectory(environment:)``), created on first
    /// register; watches read it again on every change (inotify) and at least every `pollInterval`.
    public init(directory: String? = nil, pollInterval: Duration = .milliseconds(200), logger: Logger = Logger(label: "micro.registry.local")) {
        if let directory, !directory.isEmpty {
            self.directory = directory
        } else {
            self.directory = Self.defaultDirectory()
        }
        self.pollInterval = pollInterval > .zero ? pollInterval : .milliseconds(200)
        self.logger = logger
    }

    /// The directory used when none is given: `MICRO_REGISTRY_ADDRESS` if set, else
    /// `$MICRO_HOME/registry` (`~/.micro/registry`).
    public static func defaultDirectory(environment: MicroEnvironment = MicroEnvironment()) -> String {
        environment.registryAddress ?? join(environment.home, "registry")
    }

    // MARK: Registry

    /// Writes (or rewrites, for a heartbeat) one file per node; `ttl` nil never expires.
    public func register(_ service: ServiceRecord, ttl: Duration?) async throws {
        let serviceDir = Self.join(directory, try Self.escape(service.name))
        let expires = ttl.map { Date().timeIntervalSince1970 + Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var files: [(name: String, data: Data)] = []
        for node in service.nodes {
            var one = service
            one.nodes = [node]
            let data = try encoder.encode(NodeFile(service: one, expires: expires))
            guard data.count <= Self.maxFileSize else {
                throw MicroError.badRequest(Self.errorID, "record for node \(node.id) is larger than \(Self.maxFileSize) bytes")
            }
            files.append((try Self.escape(node.id) + ".json", data))
        }
        guard !files.isEmpty else { return }
        for file in files {
            try writeAtomically(file.data, directory: serviceDir, file: file.name)
        }
    }

    /// Removes the record's node files (every node of that version when the record lists none).
    public func deregister(_ service: ServiceRecord) async throws {
        let serviceDir = Self.join(directory, try Self.escape(service.name))
        let targets: [String]
        if service.nodes.isEmpty {
            targets = Self.entries(serviceDir).filter { !$0.hasPrefix(".") && $0.hasSuffix(".json") }
        } else {
            targets = try service.nodes.map { try Self.escape($0.id) + ".json" }
        }
        for file in targets {
            let path = Self.join(serviceDir, file)
            switch Self.readBounded(path, limit: Self.maxFileSize) {
            case .missing:
                continue
            case .failed:
                // An unreadable file for a node named explicitly is removed; otherwise left alone.
                if !service.nodes.isEmpty { _ = unlink(path) }
            case .ok(let data, _):
                guard let decoded = try? JSONDecoder().decode(NodeFile.self, from: data) else {
                    if !service.nodes.isEmpty { _ = unlink(path) }
                    continue
                }
                if decoded.service.name == service.name, decoded.service.version == service.version {
                    _ = unlink(path)
                }
            }
        }
        _ = rmdir(serviceDir)  // best effort: only succeeds when empty
    }

    /// Every version of the service with its live nodes, read from the directory.
    public func getService(_ name: String) async throws -> [ServiceRecord] {
        guard !name.isEmpty else { return [] }
        return try scan(only: name)
    }

    /// Every service with live nodes, sorted by name and version.
    public func listServices() async throws -> [ServiceRecord] {
        try scan(only: nil)
    }

    /// Reports `create`, `update` and `delete` (including nodes whose TTL passed): the directory is
    /// read again as soon as a file in it changes (inotify on Linux) and at least every poll interval;
    /// the watch stops when the consumer stops.
    public func watch(service: String?) async throws -> RegistryWatch {
        let initial = try scan(only: service)
        let (stream, continuation) = RegistryWatch.makeStream(bufferingPolicy: .bufferingNewest(1024))
        let interval = pollInterval
        // Woken at once by file changes where the system tells (inotify); the poll is the fallback.
        let monitor = DirectoryChangeMonitor.start(directory: directory, service: service.flatMap { try? Self.escape($0) })
        let started = watchTasks.start(continuation) { [self] in
            defer { monitor?.stop() }
            var previous = initial
            while !Task.isCancelled {
                if let monitor {
                    await monitor.wait(timeout: interval)
                    if Task.isCancelled { return }
                } else {
                    do { try await Task.sleep(for: interval) } catch { return }
                }
                let current: [ServiceRecord]
                do {
                    current = try scan(only: service)
                } catch {
                    logger.debug("local registry scan failed", metadata: ["directory": "\(directory)", "error": "\(error)"])
                    continue
                }
                for event in Self.diff(previous, current) { continuation.yield(event) }
                previous = current
            }
        }
        if !started { monitor?.stop() }
        return stream
    }

    /// Ends every watch and waits for its task.
    public func shutdown() async {
        await watchTasks.close()
    }

    // MARK: Snapshot and diff

    /// The events that turn `old` into `new` (both lists of records with nodes sorted by id):
    /// `create` for a version first seen, `update` for a changed one, `delete` (with the removed
    /// nodes) for a version whose last node went.
    static func diff(_ old: [ServiceRecord], _ new: [ServiceRecord]) -> [RegistryEvent] {
        struct Key: Hashable { var name: String; var version: String }
        var before: [Key: ServiceRecord] = [:]
        for r in old { before[Key(name: r.name, version: r.version)] = r }
        var seen = Set<Key>()
        var events: [RegistryEvent] = []
        for r in new {
            let key = Key(name: r.name, version: r.version)
            seen.insert(key)
            if let prior = before[key] {
                if prior != r { events.append(RegistryEvent(action: .update, service: r)) }
            } else {
                events.append(RegistryEvent(action: .create, service: r))
            }
        }
        for r in old where !seen.contains(Key(name: r.name, version: r.version)) {
            events.append(RegistryEvent(action: .delete, service: r))
        }
        return events
    }

    /// Reads the live nodes (of one service, or all) and groups them into records sorted by
    /// name, version and node id.
    func scan(only service: String?) throws -> [ServiceRecord] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) else { return [] }
        guard isDir.boolValue else {
            throw MicroError.internalServerError(Self.errorID, "registry path \(directory) is not a directory")
        }
        let serviceDirs: [String]
        if let service {
            guard let escaped = try? Self.escape(service) else { return [] }
            serviceDirs = [escaped]
        } else {
            serviceDirs = try FileManager.default.contentsOfDirectory(atPath: directory).filter { !$0.hasPrefix(".") }
        }
        let now = Date().timeIntervalSince1970
        struct Live { var file: NodeFile; var mtime: Double }
        var grouped: [String: [String: [Live]]] = [:]
        let decoder = JSONDecoder()
        var unreadable: [(path: String, reason: String)] = []
        defer { reportUnreadable(unreadable) }
        for dirName in serviceDirs {
            let serviceDir = Self.join(directory, dirName)
            for fileName in Self.entries(serviceDir) {
                let path = Self.join(serviceDir, fileName)
                if fileName.hasPrefix(".tmp-") {
                    removeStaleTemp(path, now: now)
                    continue
                }
                guard !fileName.hasPrefix("."), fileName.hasSuffix(".json") else { continue }
                let file: NodeFile
                let mtime: Double
                switch Self.readBounded(path, limit: Self.maxFileSize) {
                case .missing:
                    continue  // removed since the listing
                case .failed(let reason):
                    unreadable.append((path, reason))
                    continue
                case .ok(let data, let modified):
                    do {
                        file = try decoder.decode(NodeFile.self, from: data)
                    } catch {
                        unreadable.append((path, "invalid JSON: \(error)"))
                        continue
                    }
                    mtime = modified
                }
                guard file.service.nodes.count == 1,
                      (try? Self.escape(file.service.name)) == dirName,
                      (try? Self.escape(file.service.nodes[0].id)).map({ $0 + ".json" }) == fileName
                else {
                    unreadable.append((path, "record does not match its path or holds other than one node"))
                    continue
                }
                forgetWarning(path)
                if let service, file.service.name != service { continue }
                if let expires = file.expires, expires <= now {
                    if expires + Self.expiredGrace < now { removeExpired(path, now: now) }
                    continue
                }
                grouped[file.service.name, default: [:]][file.service.version, default: []].append(Live(file: file, mtime: mtime))
            }
        }
        var result: [ServiceRecord] = []
        for name in grouped.keys.sorted() {
            let versions = grouped[name] ?? [:]
            for version in versions.keys.sorted() {
                let lives = versions[version] ?? []
                guard let newest = lives.max(by: { a, b in
                    if a.mtime != b.mtime { return a.mtime < b.mtime }
                    if (a.file.expires ?? .infinity) != (b.file.expires ?? .infinity) {
                        return (a.file.expires ?? .infinity) < (b.file.expires ?? .infinity)
                    }
                    return a.file.service.nodes[0].id < b.file.service.nodes[0].id
                }) else { continue }
                var record = newest.file.service
                record.nodes = lives.map { $0.file.service.nodes[0] }.sorted { $0.id < $1.id }
                result.append(record)
            }
        }
        return result
    }

    /// How many watch poll tasks are running.
    var activeWatchCount: Int { watchTasks.count }

    /// Whether `path` has been reported as unreadable.
    func hasWarned(about path: String) -> Bool { warned.withLockedValue { $0.contains(path) } }

    // MARK: Files

    /// Writes `data` to a unique temporary file (mode 0600) in `directory` and renames it over `file`;
    /// creates the directory as needed, mode 0700 (again, if another process removed it meanwhile).
    private func writeAtomically(_ data: Data, directory dir: String, file: String) throws {
        let target = Self.join(dir, file)
        var attempt = 0
        while true {
            attempt += 1
            if let err = PrivateDirectory.make(dir) {
                throw MicroError.internalServerError(Self.errorID, "cannot create \(dir): \(Self.describe(err))")
            }
            let temp = Self.join(dir, ".tmp-" + UUID().uuidString)
            let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd < 0 {
                let err = errno
                if err == ENOENT && attempt < 5 { continue }  // directory removed under us
                throw MicroError.internalServerError(Self.errorID, "cannot create \(temp): \(Self.describe(err))")
            }
            let written = data.withUnsafeBytes { raw -> Int32 in
                var offset = 0
                while offset < raw.count {
                    let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        return errno
                    }
                    offset += n
                }
                return 0
            }
            close(fd)
            if written != 0 {
                _ = unlink(temp)
                throw MicroError.internalServerError(Self.errorID, "cannot write \(temp): \(Self.describe(written))")
            }
            if rename(temp, target) != 0 {
                let err = errno
                _ = unlink(temp)
                if err == ENOENT && attempt < 5 { continue }
                throw MicroError.internalServerError(Self.errorID, "cannot rename to \(target): \(Self.describe(err))")
            }
            return
        }
    }

    /// Deletes an expired node file unless it was refreshed since it was read.
    private func removeExpired(_ path: String, now: Double) {
        guard case .ok(let data, _) = Self.readBounded(path, limit: Self.maxFileSize),
              let file = try? JSONDecoder().decode(NodeFile.self, from: data),
              let expires = file.expires, expires + Self.expiredGrace < now
        else { return }
        _ = unlink(path)
        logger.debug("removed expired node file", metadata: ["path": "\(path)"])
    }

    /// Deletes a temporary file a crashed writer left behind.
    private func removeStaleTemp(_ path: String, now: Double) {
        var st = stat()
        guard lstat(path, &st) == 0, Self.modificationTime(st) + Self.staleTempAge < now else { return }
        _ = unlink(path)
    }

    /// Logs the files one read skipped that were not reported before, as one line: their count, the
    /// directory and the first few (thousands of junk files are one warning, not thousands).
    private func reportUnreadable(_ files: [(path: String, reason: String)]) {
        guard !files.isEmpty else { return }
        let fresh = warned.withLockedValue { set in
            files.filter { file in
                if set.count >= Self.warnedLimit { set.removeAll() }
                return set.insert(file.path).inserted
            }
        }
        guard !fresh.isEmpty else { return }
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        let first = fresh.prefix(3).map { file in
            let name = file.path.hasPrefix(prefix) ? String(file.path.dropFirst(prefix.count)) : file.path
            return "\(name): \(file.reason.count > 80 ? file.reason.prefix(80) + "…" : Substring(file.reason))"
        }
        logger.warning("skipped \(fresh.count) unreadable registry file\(fresh.count == 1 ? "" : "s") in \(directory)",
                       metadata: ["first": "\(first.joined(separator: "; "))"])
    }

    private func forgetWarning(_ path: String) {
        warned.withLockedValue { set in
            if !set.isEmpty { set.remove(path) }
        }
    }

    enum ReadResult {
        case ok(Data, modified: Double)
        case missing
        case failed(String)
    }

    /// Reads a regular file of at most `limit` bytes, with its modification time.
    static func readBounded(_ path: String, limit: Int) -> ReadResult {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 {
            let err = errno
            return err == ENOENT || err == ENOTDIR ? .missing : .failed(describe(err))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .failed(describe(errno)) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { return .failed("not a regular file") }
        guard Int(st.st_size) <= limit else { return .failed("larger than \(limit) bytes") }
        let capacity = min(Int(st.st_size), limit) + 1
        var buffer = [UInt8](repeating: 0, count: capacity)
        var total = 0
        while total < capacity {
            let n = buffer.withUnsafeMutableBytes { raw in read(fd, raw.baseAddress! + total, capacity - total) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failed(describe(errno))
            }
            if n == 0 { break }
            total += n
        }
        guard total <= limit else { return .failed("larger than \(limit) bytes") }
        return .ok(Data(buffer[0..<total]), modified: modificationTime(st))
    }

    private static func modificationTime(_ st: stat) -> Double {
        #if canImport(Darwin)
        return Double(st.st_mtimespec.tv_sec) + Double(st.st_mtimespec.tv_nsec) / 1e9
        #else
        return Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
        #endif
    }

    private static func describe(_ err: Int32) -> String {
        String(cString: strerror(err))
    }

    /// The names in a directory; empty when it is missing or unreadable.
    private static func entries(_ dir: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    }

    private static func join(_ dir: String, _ name: String) -> String {
        dir.hasSuffix("/") ? dir + name : dir + "/" + name
    }

    /// A name made safe as one path component: bytes outside `[A-Za-z0-9._-]` (and a leading `.`)
    /// become `%XX`; very long results are shortened with a hash. Empty names are rejected.
    static func escape(_ name: String) throws -> String {
        guard !name.isEmpty else { throw MicroError.badRequest(errorID, "empty service name or node id") }
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(name.utf8.count)
        for (i, b) in name.utf8.enumerated() {
            let safe = (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39)
                || b == 0x2D || b == 0x5F || (b == 0x2E && i > 0)
            if safe {
                out.append(b)
            } else {
                out += [0x25, hex[Int(b >> 4)], hex[Int(b & 0x0F)]]
            }
        }
        if out.count > 150 {
            // Keep within NAME_MAX; `~` never appears in an unshortened name, so no clash with one.
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a 64
            for b in name.utf8 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
            var tail: [UInt8] = [0x7E]
            for shift in stride(from: 60, through: 0, by: -4) { tail.append(hex[Int((hash >> UInt64(shift)) & 0xF)]) }
            out = Array(out.prefix(100)) + tail
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A node file: `{"service": <record with one node>, "expires": <unix seconds> | null}`.
struct NodeFile: Codable, Sendable {
    var service: ServiceRecord
    var expires: Double?

    enum CodingKeys: String, CodingKey { case service, expires }

    init(service: ServiceRecord, expires: Double?) {
        self.service = service
        self.expires = expires
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        service = try c.decode(ServiceRecord.self, forKey: .service)
        expires = try c.decodeIfPresent(Double.self, forKey: .expires)
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(service, forKey: .service)
        if let expires { try c.encode(expires, forKey: .expires) } else { try c.encodeNil(forKey: .expires) }
    }
}
