import Foundation
import MicroTestSupport
import Testing
@testable import MicroRuntime

@Suite struct RuntimeSourceTests {
    @Test func gitURLsWithAndWithoutRefs() throws {
        let plain = try RuntimeSource(parsing: "https://example.com/team/greeter.git")
        #expect(plain.kind == .git(url: "https://example.com/team/greeter.git"))
        #expect(plain.ref == nil)
        #expect(plain.defaultName == "greeter")
        let tagged = try RuntimeSource(parsing: "git://127.0.0.1:9418/greeter@v1.2")
        #expect(tagged.kind == .git(url: "git://127.0.0.1:9418/greeter"))
        #expect(tagged.ref == "v1.2")
        #expect(tagged.description == "git://127.0.0.1:9418/greeter@v1.2")
        // An @ in the user part is no ref.
        let user = try RuntimeSource(parsing: "ssh://git@example.com/greeter")
        #expect(user.ref == nil)
        #expect(try RuntimeSource(parsing: "file:///srv/repos/a@release-2").ref == "release-2")
        // A ref holds no `/` (else `ssh://git@host/repo` would read as one).
        #expect(try RuntimeSource(parsing: "file:///srv/repos/a@feature/x").ref == nil)
    }

    @Test func localPaths() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.write(["Package.swift": "// empty\n"], in: "pkg")
        let directory = try RuntimeSource(parsing: "./pkg", relativeTo: scratch.path)
        #expect(directory.kind == .directory(path: scratch.path + "/pkg"))
        let script = try scratch.script("run.sh", "exit 0")
        #expect(try RuntimeSource(parsing: script).kind == .binary(path: script))
        try Git.repository(scratch, "repo", files: ["README": "x"])
        let repo = try RuntimeSource(parsing: scratch.path + "/repo@main")
        #expect(repo.kind == .git(url: "file://" + scratch.path + "/repo"))
        #expect(repo.ref == "main")
    }

    @Test(arguments: [
        "", "ftp://example.com/repo", "https://", "https:///repo", "https://host", "file://relative/path", "greeter",
        "git@example.com:team/repo.git", "https://example.com/repo@--upload-pack=evil", "https://example.com/repo@a..b",
        "https://exa mple.com/repo", "https://example.com/repo\u{0}", "/definitely/not/here", String(repeating: "a", count: 5000),
    ])
    func badSourcesAreTypedErrors(_ text: String) {
        #expect { try RuntimeSource(parsing: text) } throws: { ($0 as? RuntimeError)?.code == .badSource }
    }

    /// SwiftPM leaves a lock file per package it reads in the temporary directory, named after the
    /// package's path: a scratch directory takes those of its packages with it.
    @Test func aScratchTakesSwiftPMsLockFilesWithIt() async throws {
        let scratch = try Scratch()
        try scratch.write(TinyPackage.files(), in: "tiny")
        let builder = PackageBuilder(environment: ProcessInfo.processInfo.environment)
        #expect(try await builder.executables(in: scratch.path + "/tiny", log: scratch.path + "/describe.log") == ["tiny"])
        scratch.remove()
        let temporary = try FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path)
        let left = temporary.filter { $0.contains(scratch.url.lastPathComponent) }
        #expect(left.isEmpty, "\(left)")
    }

    @Test func aPlainFileOrARefOnANonRepositoryIsRefused() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.write(["notes.txt": "x", "pkg/Package.swift": "//"], in: ".")
        #expect { try RuntimeSource(parsing: scratch.path + "/notes.txt") } throws: { ($0 as? RuntimeError)?.code == .badSource }
        #expect { try RuntimeSource(parsing: scratch.path + "/pkg@main") } throws: { ($0 as? RuntimeError)?.code == .badSource }
    }
}

@Suite struct RuntimeManifestTests {
    @Test func aFullManifest() throws {
        let manifest = try RuntimeManifest(yaml: Data("""
        name: hello
        version: 1.0.0
        product: Hello
        args: [--verbose]
        env: { GREETING: hi }
        depends:
          - source: https://example.com/greeter.git@v1
        """.utf8))
        #expect(manifest.name == "hello")
        #expect(manifest.product == "Hello")
        #expect(manifest.env == ["GREETING": "hi"])
        #expect(manifest.depends == [.init(source: "https://example.com/greeter.git@v1")])
        #expect(try RuntimeManifest(yaml: Data()) == RuntimeManifest())
    }

    @Test(arguments: [
        "name: [not, a, string]", "depends: 3", "depends: [{nosource: x}]", "name: 'bad name'", "name: ../escape",
        "env: { 1BAD: x }", "env: { 'A-B': x }", "product: ''", "{{{{", "- just\n- a list", "name: \"\\0\"",
        "args: [" + Array(repeating: "x", count: 100).joined(separator: ",") + "]",
    ])
    func malformedManifestsAreTypedErrors(_ yaml: String) {
        #expect { try RuntimeManifest(yaml: Data(yaml.utf8)) } throws: { ($0 as? RuntimeError)?.code == .badManifest }
    }

    @Test func anOversizedManifestIsRefusedBeforeParsing() {
        let big = Data(repeating: UInt8(ascii: "#"), count: RuntimeManifest.maxBytes + 1)
        #expect { try RuntimeManifest(yaml: big) } throws: { ($0 as? RuntimeError)?.code == .badManifest }
    }

    @Test func executablesFromAPackageDump() throws {
        let dump = Data("""
        {"name":"p","products":[{"name":"Tool","type":{"executable":null}},{"name":"Lib","type":{"library":["automatic"]}}],
         "targets":[{"name":"Tool","type":"executable"},{"name":"Other","type":"executable"},{"name":"Lib","type":"regular"}]}
        """.utf8)
        #expect(try PackageBuilder.executables(fromDump: dump) == ["Tool", "Other"])
        #expect(try PackageBuilder.choose("Other", among: ["Tool", "Other"], package: "p") == "Other")
        #expect { try PackageBuilder.choose(nil, among: ["Tool", "Other"], package: "p") } throws: {
            ($0 as? RuntimeError)?.code == .missingProduct && "\($0)".contains("Tool, Other")
        }
        #expect { try PackageBuilder.choose("Nope", among: ["Tool"], package: "p") } throws: { ($0 as? RuntimeError)?.code == .missingProduct }
        #expect { try PackageBuilder.choose(nil, among: [], package: "p") } throws: { ($0 as? RuntimeError)?.code == .missingProduct }
        #expect { try PackageBuilder.executables(fromDump: Data("not json".utf8)) } throws: { ($0 as? RuntimeError)?.code == .buildFailed }
    }
}

@Suite struct SupervisionStateTests {
    @Test func crashesBackOffExponentiallyUntilTheLimit() {
        let policy = RestartPolicy(initialBackoff: .milliseconds(100), maxBackoff: .milliseconds(350), crashLimit: 3, stableAfter: .seconds(60))
        var state = SupervisionState()
        let start = Date(timeIntervalSince1970: 1000)
        var waits: [Duration] = []
        for _ in 0..<3 {
            state.started(pid: 10, startTime: 1, at: start)
            guard case .restart(let wait) = state.exited(.exited(3), policy: policy, at: start.addingTimeInterval(1)) else {
                Issue.record("expected a restart")
                return
            }
            waits.append(wait)
        }
        #expect(waits == [.milliseconds(100), .milliseconds(200), .milliseconds(350)])
        state.started(pid: 10, startTime: 1, at: start)
        #expect(state.exited(.signalled(9), policy: policy, at: start.addingTimeInterval(1)) == .stop)
        #expect(state.status == .failed)
        #expect(state.restarts == 3)
        #expect(state.error?.contains("crashLoop") == true)
        #expect(state.error?.contains("killed by signal 9 4 times") == true)
    }

    @Test func aStableRunEndsTheRowAndAStopIsNoCrash() {
        let policy = RestartPolicy(initialBackoff: .milliseconds(100), crashLimit: 1, stableAfter: .seconds(10))
        var state = SupervisionState()
        let start = Date(timeIntervalSince1970: 1000)
        state.started(pid: 1, startTime: 1, at: start)
        #expect(state.exited(.exited(1), policy: policy, at: start.addingTimeInterval(1)) == .restart(after: .milliseconds(100)))
        state.started(pid: 2, startTime: 2, at: start)
        #expect(state.exited(.exited(1), policy: policy, at: start.addingTimeInterval(20)) == .restart(after: .milliseconds(100)))
        state.started(pid: 3, startTime: 3, at: start)
        state.stopping()
        #expect(state.exited(.signalled(15), policy: policy, at: start.addingTimeInterval(1)) == .stop)
        #expect(state.status == .stopped)
        #expect(state.pid == nil)
    }
}

@Suite struct LogFileTests {
    @Test func rotatesBySizeAndKeepsTheNewestFiles() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let log = LogFile(path: scratch.path + "/s.log", maxBytes: 100, keep: 2)
        for round in 0..<4 {
            for n in 0..<10 { log.note("round \(round) line \(n)") }
            log.rotateIfNeeded()
        }
        #expect(log.size == 0)
        let newest = try String(contentsOfFile: scratch.path + "/s.log.1", encoding: .utf8)
        #expect(newest.contains("round 3 line 9"))
        #expect(FileManager.default.fileExists(atPath: scratch.path + "/s.log.2"))
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/s.log.3"))
        log.note("after")
        #expect(log.lastLines(5).lines == ["[runtime] after"])
    }

    /// The service writes through its own append-mode descriptor before, during and after a rotation:
    /// the rotated file and the live one hold every line once, the live one goes on growing, and a
    /// follower reads on from its offset without a gap or a repeat.
    @Test func aRotationCutsTheHeadInPlaceAndLosesNoLine() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = scratch.path + "/r.log"
        let log = LogFile(path: path, maxBytes: 8192, keep: 2)
        log.note("start")
        let writer = try #require(FileHandle(forUpdatingAtPath: path))
        defer { try? writer.close() }
        var written = ["[runtime] start"]
        func write(_ range: Range<Int>) throws {
            for n in range {
                _ = try writer.seekToEnd()
                try writer.write(contentsOf: Data("line \(n) \(String(repeating: "x", count: n % 50))\n".utf8))
                written.append("line \(n) \(String(repeating: "x", count: n % 50))")
            }
        }
        try write(0..<200)
        let followed = log.lines(after: log.lastLines(0).offset)   // nothing new yet
        #expect(followed.lines.isEmpty)
        var offset: UInt64 = 0
        var seen: [String] = []
        (seen, offset) = log.lines(after: 0)
        try write(200..<400)
        let caughtUp = log.lines(after: offset)   // a follower polls far more often than logs rotate
        seen += caughtUp.lines
        offset = caughtUp.offset
        log.rotateIfNeeded()
        try write(400..<450)
        #expect(log.base > 0, "the head was cut out in place")
        #expect(log.size < 8192)
        let rotated = try String(contentsOfFile: path + ".1", encoding: .utf8)
        let live = try String(contentsOfFile: path, encoding: .utf8)
        #expect((rotated + live).split(separator: "\n").map(String.init) == written)
        #expect(live.hasSuffix("line 449 \(String(repeating: "x", count: 449 % 50))\n"), "the writer's descriptor goes on in the live file")
        while true {
            let next = log.lines(after: offset)
            if next.lines.isEmpty { break }
            seen += next.lines
            offset = next.offset
        }
        #expect(seen == written, "the follower reads on across the rotation: \(seen.count) of \(written.count) lines")
    }

    @Test func followingReadsOnlyCompleteNewLines() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = scratch.path + "/f.log"
        let log = LogFile(path: path, maxBytes: 1 << 20, keep: 1)
        log.note("one")
        var (lines, offset) = log.lastLines(10)
        #expect(lines == ["[runtime] one"])
        let handle = try #require(FileHandle(forWritingAtPath: path))
        _ = try handle.seekToEnd()
        try handle.write(contentsOf: Data("two\nthr".utf8))
        (lines, offset) = log.lines(after: offset)
        #expect(lines == ["two"])
        try handle.write(contentsOf: Data("ee\n".utf8))
        try handle.close()
        (lines, offset) = log.lines(after: offset)
        #expect(lines == ["three"])
        try Data().write(to: URL(fileURLWithPath: path))   // truncated, as a rotation does
        log.note("four")
        #expect(log.lines(after: offset).lines == ["[runtime] four"])
    }
}
