import Foundation
import Micro
import Testing

extension IntegrationTests {
    /// The auth service across processes (`MICRO_AUTH=service`): `micro auth serve` makes the first
    /// admin; the CLI signs in as that admin and creates accounts and rules through the service; the
    /// greeter signs in with its own service account at start and checks every call with the service's
    /// keys and rules.
    @Suite struct AuthServiceCLI {
        @Test func accountsAndRulesThroughTheAuthServiceSecureTheGreeter() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let env = ["MICRO_AUTH": "service"]
            let authService = try h.start("micro", ["auth", "serve", "--admin-secret", "admin-secret"], environment: env)
            _ = try await waitForNodes("go.micro.auth", in: h.registryDirectory)

            let anonymous = try await h.run("micro", ["auth", "create", "account", "mallory", "--scopes", "admin"], environment: env)
            #expect(anonymous.status != 0 && anonymous.stderrLines.count == 1, "\(anonymous)")
            // As go-micro's CLI prints it: the service's JSON error, not a Swift description.
            #expect(anonymous.microError?["id"] as? String == "go.micro.auth", "\(anonymous)")
            #expect(anonymous.microError?["code"] as? Int == 401, "\(anonymous)")
            #expect(anonymous.microError?["status"] as? String == "Unauthorized", "\(anonymous)")
            #expect((anonymous.microError?["detail"] as? String)?.contains("admin") == true, "\(anonymous)")
            let adminLogin = try await h.run("micro", ["login", "--id", "admin", "--secret", "admin-secret"], environment: env)
            #expect(adminLogin.status == 0, "\(adminLogin); the auth service:\n\(authService.output)")
            for args in [["account", "alice", "--scopes", "greeter", "--secret", "alice-secret"],
                         ["account", "greeter-svc", "--type", "service", "--secret", "svc-secret"],
                         ["rule", "hello", "--scope", "greeter", "--resource", "service:greeter:Greeter.Hello"],
                         ["rule", "health", "--scope", "", "--resource", "service:greeter:Debug.Health"]] {
                let created = try await h.run("micro", ["auth", "create"] + args, environment: env)
                #expect(created.status == 0, "\(created)")
            }
            let accounts = try await h.run("micro", ["auth", "list", "accounts"], environment: env)
            #expect(accounts.stdout.contains("alice") && !accounts.stdout.contains("alice-secret"), "\(accounts)")

            // The greeter signs in as greeter-svc at start (it would not start otherwise).
            let greeter = try h.start("greeter", environment: env.merging(["MICRO_AUTH_ID": "greeter-svc", "MICRO_AUTH_SECRET": "svc-secret"]) { $1 })
            _ = try await waitForNodes("greeter", in: h.registryDirectory)

            let asAdmin = try await h.run("micro", ["call", "greeter", "Greeter.Hello", #"{"name":"Alice"}"#], environment: env)
            #expect(asAdmin.status != 0 && asAdmin.stderr.contains("403"), "admin holds no scope greeter: \(asAdmin); greeter:\n\(greeter.output)")
            let health = try await h.run("micro", ["health", "greeter"], environment: env)
            #expect(health.status == 0, "Debug.Health is public by rule: \(health)")

            let login = try await h.run("micro", ["login", "--id", "alice", "--secret", "alice-secret"], environment: env)
            #expect(login.status == 0, "\(login)")
            let call = try await h.run("micro", ["call", "greeter", "Greeter.Hello", #"{"name":"Alice"}"#], environment: env)
            #expect(call.status == 0 && call.stdout.contains("Hello Alice"), "\(call); greeter:\n\(greeter.output)")
            let countdown = try await h.run("micro", ["stream", "greeter", "Greeter.Countdown", #"{"from":2}"#], environment: env)
            #expect(countdown.status != 0 && countdown.stderr.contains("403"), "no rule grants Greeter.Countdown: \(countdown)")
            let notAdmin = try await h.run("micro", ["auth", "delete", "rule", "hello"], environment: env)
            #expect(notAdmin.status != 0 && notAdmin.microError?["code"] as? Int == 403, "alice is no admin: \(notAdmin)")
            #expect(notAdmin.microError?["status"] as? String == "Forbidden", "\(notAdmin)")

            try FileManager.default.removeItem(at: h.home.appendingPathComponent("token"))
            let noToken = try await h.run("micro", ["call", "greeter", "Greeter.Hello", #"{"name":"Alice"}"#], environment: env)
            #expect(noToken.status != 0 && noToken.stderr.contains("401"), "\(noToken)")
        }
    }
}
