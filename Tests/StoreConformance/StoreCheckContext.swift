import Foundation
import MicroCore

/// What a check works with: a store bound to a scope of its own, and expectations that throw a
/// ``ConformanceFailure``.
struct StoreCheckContext: Sendable {
    let store: any Store
    let backend: String

    func expect(_ condition: Bool, _ message: @autoclosure () -> String, line: Int = #line, file: String = #fileID) throws {
        guard condition else { throw ConformanceFailure(description: "[\(backend)] \(file):\(line): \(message())") }
    }

    func expectEqual<T: Equatable>(_ actual: T, _ expected: T, _ what: String, line: Int = #line, file: String = #fileID) throws {
        try expect(actual == expected, "\(what): got \(actual), expected \(expected)", line: line, file: file)
    }

    /// `actual` is `expected`, compared as UTF-8 bytes (Swift's `==` would let canonically equal keys pass).
    func expectKeys(_ actual: [String], _ expected: [String], _ what: String, line: Int = #line, file: String = #fileID) throws {
        try expect(actual.map { Array($0.utf8) } == expected.map { Array($0.utf8) },
                   "\(what): got \(actual.map(\.debugDescription)), expected \(expected.map(\.debugDescription))", line: line, file: file)
    }

    /// Runs `body`, which must fail with a ``StoreError`` of `code`.
    func expectError<T>(_ code: StoreError.Code, _ what: String, line: Int = #line, file: String = #fileID,
                        _ body: () async throws -> T) async throws {
        do {
            let result = try await body()
            throw ConformanceFailure(description: "[\(backend)] \(file):\(line): \(what): expected \(code), succeeded with \(result)")
        } catch let error as StoreError {
            try expect(error.code == code, "\(what): expected \(code), got \(error)", line: line, file: file)
        } catch let failure as ConformanceFailure {
            throw failure
        } catch {
            throw ConformanceFailure(description: "[\(backend)] \(file):\(line): \(what): expected StoreError \(code), got \(type(of: error)): \(error)")
        }
    }

    /// The keys sorted by their UTF-8 bytes, computed here rather than by the store's own helpers.
    static func byteOrder(_ keys: [String]) -> [String] {
        keys.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }.map { String(decoding: $0, as: UTF8.self) }
    }
}
