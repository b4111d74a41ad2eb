import ArgumentParser
import Micro

/// `micro store write KEY VALUE|@FILE|-`: writes a record and prints its new revision.
struct StoreWriteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "write", abstract: "Write a record; prints its new revision.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var store: StoreOptions
    @Argument(help: "The key.") var key: String
    @Argument(help: "The value; - reads it from stdin, @FILE from a file.") var value: String
    @Option(help: "How long the record lives, e.g. 10s, 500ms, 1h (default: forever).") var ttl: String?
    @Option(name: .customLong("metadata"), help: "Metadata key=value (repeatable).") var metadata: [String] = []
    @Flag(name: .customLong("if-absent"), help: "Write only if no record has the key.") var ifAbsent = false
    @Option(name: .customLong("if-revision"), help: "Write only if the record is at this revision.") var ifRevision: UInt64?

    func validate() throws {
        if ifAbsent && ifRevision != nil { throw ValidationError("--if-absent and --if-revision exclude each other") }
        if let ttl { _ = try StoreOptions.duration(ttl) }
    }

    func run() async throws {
        try await runReporting {
            var pairs: [String: String] = [:]
            for (name, text) in try parseMetadata(metadata) { pairs[name] = text }
            let write = StoreWrite(key: key, value: try MessageInput.bytes(value), metadata: pairs,
                                   ttl: try ttl.map(StoreOptions.duration),
                                   condition: ifAbsent ? .ifAbsent : ifRevision.map { StoreCondition.ifRevision($0) } ?? StoreCondition.always)
            let revision = try await store.withStore(global) { try await $0.write(write) }
            try emit("\(revision)")
        }
    }
}
