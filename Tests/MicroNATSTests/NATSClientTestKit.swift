import Foundation
import Logging
import MicroNATS
import MicroTestSupport
@testable import NATSClient
import NIOCore
import NIOSSL
import Testing

/// Helpers of the NATS client tests.
enum NATSClientTestKit {
    /// Options for one test server with fast reconnects.
    static func options(_ server: NATSServerProcess, _ configure: (inout NATSOptions) -> Void = { _ in }) -> NATSOptions {
        var options = NATSOptions(servers: [server.url])
        options.reconnectWait = .milliseconds(20)
        options.reconnectWaitMax = .milliseconds(200)
        options.connectTimeout = .seconds(2)
        configure(&options)
        return options
    }

    static func connect(_ server: NATSServerProcess, _ configure: (inout NATSOptions) -> Void = { _ in }) async throws -> NATSConnection {
        try await NATSConnection.connect(options(server, configure))
    }

    static func payload(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    /// A JetStream server of the test's own, a connection to it and a JetStream context on that.
    static func jetStream() async throws -> (NATSServerProcess, NATSConnection, JetStream) {
        let server = try await NATSServerProcess(jetStream: true)
        let connection = try await connect(server)
        return (server, connection, JetStream(connection: connection))
    }

    /// Up to `count` messages of `subscription`, or fewer when `within` passes (or the sequence ends).
    static func collect(_ subscription: NATSSubscription, count: Int, within: Duration = .seconds(5)) async -> [NATSMessage] {
        await withTaskGroup(of: [NATSMessage]?.self) { group in
            group.addTask {
                var messages: [NATSMessage] = []
                guard count > 0 else { return messages }
                for await message in subscription {
                    messages.append(message)
                    if messages.count >= count { break }
                }
                return messages
            }
            group.addTask {
                try? await Task.sleep(for: within)
                return nil
            }
            var result: [NATSMessage] = []
            while let value = await group.next() {
                if let value { result = value }
                group.cancelAll()
            }
            return result
        }
    }

    /// Waits until `condition` holds (polling), failing the test after `within`.
    static func eventually(_ what: String, within: Duration = .seconds(5), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + within
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting until \(what)")
                throw NATSError(.timeout, what)
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The pid of the nats-server this test started on `port` (found in /proc), to pause it with SIGSTOP.
    static func serverPID(port: Int) -> Int32? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in entries {
            guard let pid = Int32(entry),
                  let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard arguments.first?.hasSuffix("nats-server") == true,
                  let p = arguments.firstIndex(of: "-p"), p + 1 < arguments.count, arguments[p + 1] == "\(port)" else { continue }
            return pid
        }
        return nil
    }

    /// Runs a command, throwing with its output when it fails.
    static func run(_ executable: String, _ arguments: [String], in directory: URL) throws {
        try ChildProcess.run(executable, arguments, directory: directory, timeout: .seconds(60))
    }

    /// A throw-away CA with a server certificate for 127.0.0.1/localhost and a client certificate.
    struct Certificates {
        let directory: URL
        var caPath: String { directory.appendingPathComponent("ca.pem").path }
        var serverCertPath: String { directory.appendingPathComponent("server.pem").path }
        var serverKeyPath: String { directory.appendingPathComponent("server.key").path }
        var clientCertPath: String { directory.appendingPathComponent("client.pem").path }
        var clientKeyPath: String { directory.appendingPathComponent("client.key").path }

        static func make() throws -> Certificates {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nats-tls-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl"].first { FileManager.default.isExecutableFile(atPath: $0) }
            guard let openssl else { throw EngineMissing(description: "openssl not found") }
            let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
            try run(openssl, ["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Swift Micro Test CA",
                              "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], in: directory)
            try "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n".write(
                to: directory.appendingPathComponent("server.ext"), atomically: true, encoding: .utf8)
            try "extendedKeyUsage=clientAuth\n".write(to: directory.appendingPathComponent("client.ext"), atomically: true, encoding: .utf8)
            for (name, cn) in [("server", "localhost"), ("client", "swift-micro-client")] {
                try run(openssl, ["req"] + ec + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=\(cn)"], in: directory)
                try run(openssl, ["x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                                  "-out", "\(name).pem", "-days", "2", "-extfile", "\(name).ext"], in: directory)
            }
            return Certificates(directory: directory)
        }

        /// A client configuration trusting the test CA, optionally presenting the client certificate.
        func clientTLS(withClientCertificate: Bool) throws -> TLSConfiguration {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caPath))
            if withClientCertificate {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(clientCertPath).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: clientKeyPath, format: .pem))
            }
            return tls
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }
    }
}
