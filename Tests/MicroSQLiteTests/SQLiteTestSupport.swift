import Foundation
import MicroCore
import MicroSQLite
import MicroTestSupport
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

/// The built `StoreWriter` helper (``builtExecutable(_:)``), or a store error saying where it looked.
func storeWriterExecutable() throws -> String {
    do {
        return try builtExecutable("StoreWriter")
    } catch {
        throw StoreError(.unavailable, "\(error)")
    }
}
