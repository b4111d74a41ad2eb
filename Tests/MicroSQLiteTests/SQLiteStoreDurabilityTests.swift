import Foundation
import Glibc
import MicroCore
import MicroSQLite
import MicroTestSupport
import Testing

@Suite struct SQLiteStoreDurabilityTests {
    /// A child process writes records, printing each one's number once its writes returned; the test
    /// kills it with SIGKILL mid-stream and reopens the file: every acknowledged record is there, and
    /// the counter (updated with ifRevision after each record) is at least the last acknowledged number.
    @Test func killNineLosesNoAcknowledgedWrite() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        let output = URL(fileURLWithPath: dir.path + "/acknowledged.txt")
        let child = try SpawnedProcess(try storeWriterExecutable(), [dir.path + "/store", "1000000"], output: output,
                                       errors: URL(fileURLWithPath: dir.path + "/errors.txt"))
        defer { if child.isRunning { child.kill() } }

        // Let it acknowledge a few hundred writes (bounded wait), then kill it in the middle of the next.
        let deadline = ContinuousClock.now + .seconds(90)
        var acknowledged = 0
        while ContinuousClock.now < deadline, child.isRunning {
            acknowledged = Self.lines(output).count
            if acknowledged >= 300 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let errors = (try? String(contentsOfFile: dir.path + "/errors.txt", encoding: .utf8)) ?? ""
        try #require(child.isRunning, "the writer ended by itself: \(errors)")
        try #require(acknowledged >= 300, "only \(acknowledged) writes acknowledged in 90 s: \(errors)")
        child.signal(SIGKILL)
        #expect(child.wait(timeout: .seconds(10)))
        #expect(child.terminationSignal == SIGKILL)

        // Only whole lines count: a number is acknowledged once its newline is out.
        let numbers = Self.lines(output).compactMap { Int($0) }
        #expect(numbers == Array(1..<(numbers.count + 1)), "acknowledged in order")
        let store = try SQLiteStore(directory: dir.path + "/store").scoped(database: "durability", table: "records")
        var missing: [Int] = []
        for n in numbers {
            let record = try await store.read("key-\(n)")
            if record?.value != Array(String(repeating: String(n), count: 16).utf8) || record?.metadata != ["n": String(n)] { missing.append(n) }
        }
        #expect(missing.isEmpty, "acknowledged records missing or wrong after kill -9: \(missing.prefix(20)) of \(numbers.count)")
        let counter = try await store.read("counter").flatMap { Int(String(decoding: $0.value, as: UTF8.self)) } ?? -1
        #expect(counter >= numbers.count && counter <= numbers.count + 1, "counter \(counter), last acknowledged \(numbers.count)")
        // The file is usable after the crash: a new write goes through.
        try await store.write("after", bytes: [1])
        await store.shutdown()
    }

    /// The complete lines of `file` (a trailing partial line is not acknowledged yet).
    static func lines(_ file: URL) -> [String] {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return [] }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.removeLast()  // after the last newline: empty or partial
        return lines
    }
}
