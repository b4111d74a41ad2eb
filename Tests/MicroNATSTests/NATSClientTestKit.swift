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


}

extension TestCertificates {
    /// A client configuration trusting the test CA, optionally presenting the client certificate.
    func clientTLS(withClientCertificate: Bool) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
        if withClientCertificate {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(clientCert).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: clientKey, format: .pem))
        }
        return tls
    }
}
