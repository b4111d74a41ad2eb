import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real avahi-daemon (the Linux mDNS responder) inside a ``NetworkNamespace``, with a D-Bus system
/// bus of its own on a unix socket, so `avahi-browse` can ask it what it sees on the namespace's `lo`.
///
/// Binaries: `avahi-daemon`, `avahi-browse` (Debian `avahi-daemon`, `avahi-utils`) and `dbus-daemon`
/// (`dbus`). Missing ones are an ``EngineMissing`` error. The daemon's pid file directory
/// (/run/avahi-daemon) gets a private tmpfs inside the namespace's mount namespace, so it never
/// clashes with another daemon. Both processes are killed by pid in ``stop()``.
public final class AvahiProcess: @unchecked Sendable {
    // Safety: the processes are touched only by the test that owns this value.

    /// The namespace it runs in.
    public let namespace: NetworkNamespace
    /// Its state directory (configs, bus socket, log).
    public let directory: URL
    /// `DBUS_SYSTEM_BUS_ADDRESS` for clients such as avahi-browse.
    public let busAddress: String
    private var dbus: SpawnedProcess?
    private var daemon: SpawnedProcess?

    private static func find(_ name: String) throws -> String {
        for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw EngineMissing(description: "\(name) not found (run ./scripts/test, which installs avahi-daemon avahi-utils dbus)")
    }

    /// Starts D-Bus and avahi-daemon in `namespace` and waits until avahi answers over D-Bus.
    public init(namespace: NetworkNamespace, timeout: Duration = .seconds(15)) async throws {
        let avahi = try Self.find("avahi-daemon"), dbusDaemon = try Self.find("dbus-daemon")
        _ = try Self.find("avahi-browse")
        self.namespace = namespace
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("avahi-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let socket = directory.appendingPathComponent("bus").path
        busAddress = "unix:path=\(socket)"
        let busConfig = """
        <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
         "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
        <busconfig>
          <type>system</type>
          <listen>\(busAddress)</listen>
          <auth>EXTERNAL</auth>
          <policy context="default">
            <allow user="*"/>
            <allow own="*"/>
            <allow send_type="method_call"/>
            <allow send_destination="*"/>
            <allow receive_sender="*"/>
          </policy>
        </busconfig>
        """
        try busConfig.write(to: directory.appendingPathComponent("bus.conf"), atomically: true, encoding: .utf8)
        let avahiConfig = """
        [server]
        host-name=micro-avahi-test
        use-ipv4=yes
        use-ipv6=no
        allow-interfaces=lo
        enable-dbus=yes
        ratelimit-interval-usec=0
        ratelimit-burst=0
        [wide-area]
        enable-wide-area=no
        [publish]
        publish-workstation=no
        publish-hinfo=no
        publish-aaaa-on-ipv4=no
        [reflector]
        enable-reflector=no
        [rlimits]
        """
        let conf = directory.appendingPathComponent("avahi-daemon.conf")
        try avahiConfig.write(to: conf, atomically: true, encoding: .utf8)

        let dbusLog = directory.appendingPathComponent("dbus.log")
        let d = try SpawnedProcess(dbusDaemon, ["--config-file=\(directory.appendingPathComponent("bus.conf").path)", "--nofork", "--nopidfile"],
                                   output: dbusLog)
        dbus = d
        do {
            let deadline = ContinuousClock.now + timeout
            while !FileManager.default.fileExists(atPath: socket) {
                guard d.isRunning, ContinuousClock.now < deadline else {
                    throw EngineMissing(description: "dbus-daemon did not start: \(Self.read(dbusLog))")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            // A private /run/avahi-daemon (pid file) in the mount namespace `ip netns exec` makes.
            let script = "mkdir -p /run/avahi-daemon && mount -t tmpfs tmpfs /run/avahi-daemon && exec \(avahi) -f \(conf.path) --no-drop-root --no-chroot --no-rlimits"
            daemon = try namespace.spawn(["/bin/sh", "-c", script], environment: ["DBUS_SYSTEM_BUS_ADDRESS": busAddress],
                                         output: logURL)
            while true {
                guard daemon?.isRunning == true, ContinuousClock.now < deadline else {
                    throw EngineMissing(description: "avahi-daemon did not start: \(log)")
                }
                if log.contains("Server startup complete") { break }
                try await Task.sleep(for: .milliseconds(50))
            }
        } catch {
            stop()
            throw error
        }
    }

    private var logURL: URL { directory.appendingPathComponent("avahi.log") }

    /// avahi-daemon's output so far.
    public var log: String { Self.read(logURL) }

    private static func read(_ url: URL) -> String { (try? String(contentsOf: url, encoding: .utf8)) ?? "" }

    /// `avahi-browse -t -r -p TYPE` inside the namespace: the parsable lines (resolved ones start with `=`).
    public func browse(_ type: String, timeout: Duration = .seconds(10)) throws -> [String] {
        let out = try namespace.run(["/usr/bin/env", "DBUS_SYSTEM_BUS_ADDRESS=\(busAddress)", try Self.find("avahi-browse"),
                                     "-t", "-r", "-p", type], timeout: timeout)
        return out.split(separator: "\n").map(String.init)
    }

    /// The pid of avahi-daemon while it runs.
    public var pid: Int32? { daemon.flatMap { $0.isRunning ? $0.pid : nil } }

    /// Kills avahi-daemon and dbus-daemon by pid and reaps them.
    public func stop() {
        for p in [daemon, dbus].compactMap({ $0 }) { p.terminate() }
        daemon = nil
        dbus = nil
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }
}
