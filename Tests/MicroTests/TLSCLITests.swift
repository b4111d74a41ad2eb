import Foundation
import Micro
import MicroTestSupport
import Testing

extension IntegrationTests {
    /// The greeter and `micro` over mutual TLS, configured only by `MICRO_TLS_*`, across processes.
    @Suite struct TLSCLI {
        @Test func microCallsAndStreamsTheGreeterOverMutualTLS() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let certs = try TestCertificates.make()
            defer { certs.remove() }
            let greeter = try h.start("greeter", environment: ["MICRO_TLS_CERT_FILE": certs.serverCert, "MICRO_TLS_KEY_FILE": certs.serverKey,
                                                              "MICRO_TLS_CLIENT_CA_FILE": certs.ca])
            _ = try await waitForNodes("greeter", in: h.registryDirectory)
            let caller = ["MICRO_TLS_CA_FILE": certs.ca, "MICRO_TLS_CERT_FILE": certs.clientCert, "MICRO_TLS_KEY_FILE": certs.clientKey]
            let call = try await h.run("micro", ["call", "greeter", "Greeter.Hello", #"{"name":"Alice"}"#], environment: caller)
            #expect(call.status == 0 && call.stdout.contains("Hello Alice"), "\(call)\n\(greeter.output)")
            let countdown = try await h.run("micro", ["stream", "greeter", "Greeter.Countdown", #"{"from":2}"#], environment: caller)
            #expect(countdown.status == 0 && countdown.stdout.split(separator: "\n").count == 2, "\(countdown)")
            // Trusting the CA without a client certificate, and plaintext: refused, promptly.
            for refused in [["MICRO_TLS_CA_FILE": certs.ca], [:]] {
                let result = try await h.run("micro", ["call", "greeter", "Greeter.Hello", #"{"name":"Mallory"}"#], environment: refused)
                #expect(result.status != 0 && !result.stdout.contains("Hello"), "\(refused): \(result)")
            }
        }
    }
}
