import Foundation
import MicroCore
import MicroSQLite
import StoreConformance
import Testing

@Suite struct SQLiteStoreConformanceTests {
    static let suite = StoreConformance(backend: "sqlite") {
        SQLiteStore(directory: TemporaryDirectory().path)
    } cleanup: { store in
        if let store = store as? SQLiteStore { TemporaryDirectory(path: store.directory).remove() }
    }

    @Test(arguments: StoreCheck.all) func conformance(_ check: StoreCheck) async throws {
        try await Self.suite.run(check)
    }
}

extension TemporaryDirectory {
    init(path: String) { self.path = path }
}
