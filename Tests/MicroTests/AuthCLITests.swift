import Foundation
import Micro
import Testing

extension IntegrationTests {
    /// Securing the greeter as the README shows, across processes: the greeter runs with
    /// `MICRO_AUTH=jwt`; `micro auth` creates one account and two rules in the same store; `micro login`
    /// keeps a token (mode 0600) that `micro call` sends.
    @Suite struct AuthCLI {
        @Test func oneAccountAndTwoRulesSecureTheGreeter() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let env = ["MICRO_AUTH": "jwt"]
            let greeter = try h.start("greeter", environment: env)
            _ = try await waitForNodes("greeter", in: h.registryDirectory)

            let account = try await h.run("micro", ["auth", "create", "account", "alice", "--scopes", "greeter", "--secret", "alice-secret"], environment: env)
            #expect(account.status == 0 && account.stdout.contains(#""id":"alice""#) && account.stdout.contains(#""secret":"alice-secret""#), "\(account)")
            let hello = try await h.run("micro", ["auth", "create", "rule", "hello", "--scope", "greeter", "--resource", "service:greeter:Greeter.Hello"], environment: env)
            #expect(hello.status == 0, "\(hello)")
            let health = try await h.run("micro", ["auth", "create", "rule", "health", "--scope", "", "--resource", "service:greeter:Debug.Health"], environment: env)
            #expect(health.status == 0, "\(health)")
            let rules = try await h.run("micro", ["auth", "list", "rules"], environment: env)
            #expect(rules.stdout.split(separator: "\n").count == 2, "\(rules)")
            let accounts = try await h.run("micro", ["auth", "list", "accounts"], environment: env)
            #expect(accounts.stdout.contains("alice") && !accounts.stdout.contains("alice-secret"), "\(accounts)")

            // Without a token: refused once the greeter read the rules (within a second).
            let refused = await poll(timeout: .seconds(10), interval: .milliseconds(200)) {
                let r = try? await h.run("micro", ["call", "greeter", "Greeter.Hello", #"{"name":"Alice"}"#], environment: env)
                return r.map { $0.status != 0 && $0.stderr.contains("401") } ?? false
            }
            #expect(refused, "the greeter never refused a call without a token; its output:\n\(greeter.output)")
            let publicHealth = try await h.run("micro", ["health", "greeter"], environment: env)
            #expect(publicHealth.status == 0, "Debug.Health is public by rule: \(publicHealth)")

            let badLogin = try await h.run("micro", ["login", "--id", "alice", "--secret", "nope"], environment: env)
            #expect(badLogin.status != 0, "\(badLogin)")
            let login = try await h.run("micro", ["login", "--id", "alice", "--secret", "alice-secret"], environment: env)
            #expect(login.status == 0, "\(login)")
            let tokenPath = h.home.appendingPathComponent("token").path
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: tokenPath)[.posixPermissions] as? NSNumber)
            #expect(mode.intValue & 0o777 == 0o600)

            let call = try await h.run("micro", ["call", "greeter", "Greeter.Hello", #"{"name":"Alice"}"#], environment: env)
            #expect(call.status == 0 && call.stdout.contains("Hello Alice"), "\(call)")
            let countdown = try await h.run("micro", ["stream", "greeter", "Greeter.Countdown", #"{"from":2}"#], environment: env)
            #expect(countdown.status != 0 && countdown.stderr.contains("403"), "no rule grants Greeter.Countdown: \(countdown)")

            let deleted = try await h.run("micro", ["auth", "delete", "rule", "hello"], environment: env)
            #expect(deleted.status == 0, "\(deleted)")
            let missing = try await h.run("micro", ["auth", "delete", "rule", "hello"], environment: env)
            #expect(missing.status != 0 && missing.microError?["code"] as? Int == 404, "\(missing)")
        }
    }
}
