import ArgumentParser
import Foundation
import Micro

/// `micro store read KEY`: a record's value (or, with `--prefix`/`--suffix`, the records whose keys
/// start or end with KEY), as the value or as JSON lines.
struct StoreReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "read", abstract: "Read a record (or the records with KEY as prefix or suffix).")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var store: StoreOptions
    @Argument(help: "The key (the prefix or suffix with --prefix or --suffix; may then be empty).") var key: String
    @Flag(help: "Read every record whose key starts with KEY.") var prefix = false
    @Flag(help: "Read every record whose key ends with KEY.") var suffix = false
    @Option(help: "Return at most this many records.") var limit: Int?
    @Option(help: "Skip this many matching records first.") var offset: Int = 0
    @Option(help: "value: each record's value on a line; json: each record as a JSON line (key, value, metadata, expiry, revision).")
    var output: Output = .value

    enum Output: String, ExpressibleByArgument, CaseIterable { case value, json }

    func run() async throws {
        try await runReporting {
            let records = try await store.withStore(global) { store -> [StoreRecord] in
                guard prefix || suffix else {
                    guard let record = try await store.read(key) else {
                        throw StoreError(.notFound, "'\(key)' not found in \(store.scope)")
                    }
                    return [record]
                }
                return try await store.read(StoreQuery(prefix: prefix ? key : "", suffix: suffix ? key : "", limit: limit, offset: offset))
            }
            for record in records {
                switch output {
                case .value: try emit(String(decoding: record.value, as: UTF8.self))
                case .json: try emit(Self.json(record))
                }
            }
        }
    }

    /// A record as one line of JSON: the value as text when it is UTF-8, else as `value_base64`.
    static func json(_ record: StoreRecord) throws -> String {
        var object: [String: Any] = ["key": record.key, "metadata": record.metadata, "revision": record.revision]
        if let text = String(validating: record.value, as: UTF8.self) {
            object["value"] = text
        } else {
            object["value_base64"] = Data(record.value).base64EncodedString()
        }
        if let expiry = record.expiry { object["expiry"] = Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(expiry) }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}
