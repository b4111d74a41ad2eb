import Foundation
import Micro
import Testing

extension IntegrationTests {
    /// `micro store` as a user runs it: `micro store serve` in one process (SQLite under MICRO_HOME),
    /// the CLI in others, found through the local registry; `--local` opens the same files directly.
    @Suite struct StoreCLI {
        @Test func storeServeAndTheCLIReadWriteDeleteAndList() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let server = try h.start("micro", ["store", "serve"])
            try await waitForNodes(StoreHandler.serviceName, in: h.registryDirectory)

            let write = try await h.run("micro", ["store", "write", "greeting", "hello", "--metadata", "lang=en"])
            #expect(write.status == 0 && write.exited, "\(write)")
            let revision = try #require(UInt64(write.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(write)")

            let read = try await h.run("micro", ["store", "read", "greeting"])
            #expect(read.status == 0 && read.stdout == "hello\n", "\(read)")
            let json = try await h.run("micro", ["store", "read", "greeting", "--output", "json"])
            let record = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            #expect(record?["value"] as? String == "hello", "\(json)")
            #expect((record?["revision"] as? NSNumber)?.uint64Value == revision, "\(json)")
            #expect((record?["metadata"] as? [String: String]) == ["lang": "en"], "\(json)")

            // Conditions: a second --if-absent is a conflict (one line, exit 1); --if-revision of the current one writes.
            let absent = try await h.run("micro", ["store", "write", "greeting", "again", "--if-absent"])
            #expect(absent.exited && absent.status == 1 && absent.stdout.isEmpty, "\(absent)")
            #expect(absent.stderrLines.count == 1 && absent.stderr.contains("conflict"), "\(absent)")
            let stale = try await h.run("micro", ["store", "write", "greeting", "x", "--if-revision", "\(revision + 100)"])
            #expect(stale.status == 1 && stale.stderr.contains("conflict"), "\(stale)")
            let next = try await h.run("micro", ["store", "write", "greeting", "bonjour", "--if-revision", "\(revision)", "--ttl", "1h"])
            #expect(next.status == 0, "\(next)")

            // A value from a file and from stdin; prefix reads, lists, limits.
            let file = h.home.appendingPathComponent("value.txt")
            try Data("from a file".utf8).write(to: file)
            #expect(try await h.run("micro", ["store", "write", "user/1", "@\(file.path)"]).status == 0)
            #expect(try await h.run("micro", ["store", "write", "user/2", "-"], input: file).status == 0)
            let users = try await h.run("micro", ["store", "read", "user/", "--prefix"])
            #expect(users.stdout == "from a file\nfrom a file\n", "\(users)")
            let list = try await h.run("micro", ["store", "list", "--prefix", "user/", "--limit", "1", "--offset", "1"])
            #expect(list.stdout == "user/2\n", "\(list)")
            let all = try await h.run("micro", ["store", "list"])
            #expect(all.stdout == "greeting\nuser/1\nuser/2\n", "\(all)")

            // Other databases and tables.
            #expect(try await h.run("micro", ["store", "write", "k", "v", "--database", "app", "--table", "things"]).status == 0)
            let databases = try await h.run("micro", ["store", "databases"])
            #expect(databases.stdout == "app\nmicro\n", "\(databases)")
            let tables = try await h.run("micro", ["store", "tables", "--database", "app"])
            #expect(tables.stdout == "things\n", "\(tables)")

            // --local opens the same SQLite files the server writes.
            let local = try await h.run("micro", ["store", "read", "greeting", "--local"])
            #expect(local.status == 0 && local.stdout == "bonjour\n", "\(local)")

            let delete = try await h.run("micro", ["store", "delete", "greeting"])
            #expect(delete.status == 0, "\(delete)")
            let gone = try await h.run("micro", ["store", "read", "greeting"])
            #expect(gone.exited && gone.status == 1 && gone.stdout.isEmpty, "\(gone)")
            #expect(gone.stderrLines.count == 1 && gone.stderr.contains("not found"), "\(gone)")
            #expect(server.isRunning, "the store service died: \(server.output)")
        }

        @Test func badArgumentsAreOneLineErrors() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let server = try h.start("micro", ["store", "serve"], environment: ["MICRO_STORE": "memory"])
            try await waitForNodes(StoreHandler.serviceName, in: h.registryDirectory)
            for (args, text) in [(["store", "write", "k", "v", "--database", "a b"], "invalidName"),
                                 (["store", "read", ""], "invalidKey"),
                                 (["store", "write", "k", "v", "--ttl", "soon"], "duration"),
                                 (["store", "write", "k", "v", "--if-absent", "--if-revision", "3"], "exclude"),
                                 (["store", "list", "--limit=-1"], "invalidArgument"),
                                 (["store", "write", "k", "@/nonexistent/file"], "cannot read")] {
                let r = try await h.run("micro", args)
                #expect(r.exited && r.status != 0 && r.stdout.isEmpty, "\(r)")
                #expect(r.stderr.contains(text), "\(r)")
            }
            // Over the store's 1 MiB limit: 413 from the service, one line.
            let big = h.home.appendingPathComponent("big.bin")
            try Data(count: (1 << 20) + 1).write(to: big)
            let tooLarge = try await h.run("micro", ["store", "write", "big", "@\(big.path)"])
            #expect(tooLarge.status == 1 && tooLarge.stderr.contains("tooLarge") && tooLarge.stderrLines.count == 1, "\(tooLarge)")
            // No store service: 503-like unavailable, promptly.
            server.kill()
            _ = await server.waitForExit(timeout: .seconds(5))
            let r = try await h.run("micro", ["store", "read", "k", "--timeout", "2"])
            #expect(r.exited && r.status == 1 && r.stderrLines.count == 1 && r.stderr.contains("unavailable"), "\(r)")
        }
    }
}
