// Test helper for the SQLite kill -9 test: writes records to a SQLite store in a directory and prints
// each one's number after its write (and the counter update) returned, one line each, unbuffered.
//
//   StoreWriter <directory> [count]
//
// Record n is `key-<n>` (value: n's decimal digits repeated, metadata {"n": n}), written ifAbsent; then
// `counter` is set to n with ifRevision of its previous revision. Stops after `count` (default 100000).
import Foundation
import MicroCore
import MicroSQLite

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: StoreWriter <directory> [count]\n".utf8))
    exit(2)
}
let store = try SQLiteStore(directory: arguments[1]).scoped(database: "durability", table: "records")
let count = arguments.count > 2 ? Int(arguments[2]) ?? 100_000 : 100_000
var counterRevision = try await store.write("counter", bytes: Array("0".utf8), condition: .ifAbsent)
for n in 1...count {
    let digits = String(n)
    try await store.write("key-\(digits)", bytes: Array(String(repeating: digits, count: 16).utf8), metadata: ["n": digits],
                          condition: .ifAbsent)
    counterRevision = try await store.write("counter", bytes: Array(digits.utf8), condition: .ifRevision(counterRevision))
    let line = Array((digits + "\n").utf8)
    _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}
await store.shutdown()
