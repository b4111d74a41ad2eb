import Foundation
import MicroCore
import MicroSQLite
import SQLiteNIO

/// A temporary directory for one test's database files, removed by ``remove()``.
struct TemporaryDirectory: Sendable {
    let path: String

    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("micro-sqlite-\(UUID().uuidString.prefix(8))").path
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// A connection of the test's own to a store's file, for raw SQL (corrupting rows, reading pragmas).
func withRawConnection<T: Sendable>(_ path: String, _ body: (SQLiteConnection) async throws -> T) async throws -> T {
    let connection = try await SQLiteConnection.open(storage: .file(path: path))
    do {
        _ = try await connection.query("PRAGMA busy_timeout = 5000")
        let result = try await body(connection)
        try await connection.close().get()
        return result
    } catch {
        try? await connection.close().get()
        throw error
    }
}

/// The mode bits of a file, nil when it does not exist.
func permissions(_ path: String) -> Int? {
    (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
}

/// The built `StoreWriter` helper: beside the running test binary, or in the package's `.build`
/// (`MICRO_BUILD_DIR` overrides); an error saying where it looked when it is not there.
func storeWriterExecutable() throws -> String {
    var dirs: [String] = []
    if let override = ProcessInfo.processInfo.environment["MICRO_BUILD_DIR"], !override.isEmpty {
        dirs += [override, override + "/debug"]
    }
    if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        dirs.append((exe as NSString).deletingLastPathComponent)
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    dirs += [root + "/.build/debug", root + "/.build/x86_64-unknown-linux-gnu/debug", root + "/.build/aarch64-unknown-linux-gnu/debug"]
    for dir in dirs where FileManager.default.isExecutableFile(atPath: dir + "/StoreWriter") { return dir + "/StoreWriter" }
    throw StoreError(.unavailable, "StoreWriter not built (run `swift build --build-tests`); looked in \(dirs.joined(separator: ", "))")
}
