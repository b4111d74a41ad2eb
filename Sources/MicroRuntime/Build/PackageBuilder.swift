import Foundation

/// Builds a Swift package's executable with `swift build -c release --product P` and packages it as a
/// binary: the executable copied out of `.build`, so a rebuild never changes a running service's file.
struct PackageBuilder: Sendable {
    /// The environment `swift` runs with.
    var environment: [String: String]
    /// Arguments added to `swift build` (e.g. `--static-swift-stdlib`).
    var extraArguments: [String] = []
    /// The longest a build may take.
    var timeout: Duration = .seconds(1800)

    /// The package's executable products: those it declares and its executable targets (SwiftPM makes
    /// a product of each).
    func executables(in package: String, log: String) async throws -> [String] {
        let swift = try Command.locate("swift", environment: environment)
        let dump = FileManager.default.temporaryDirectory.appendingPathComponent("micro-dump-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: dump) }
        // The JSON goes to its own file (the log gets only what went wrong).
        let outcome = try await Command(executable: "/bin/sh", arguments: ["-c", "exec \"$0\" package dump-package > \"$1\"", swift, dump],
                                        environment: environment, directory: package, timeout: .seconds(300)).run(log: log)
        guard outcome.succeeded, let size = (try? FileManager.default.attributesOfItem(atPath: dump)[.size] as? NSNumber)?.intValue,
              size <= 8 << 20, let data = FileManager.default.contents(atPath: dump) else {
            throw RuntimeError(.buildFailed, "swift package dump-package failed in \(package): \(Self.errors(in: outcome.output))")
        }
        return try Self.executables(fromDump: data)
    }

    /// The executable names in `swift package dump-package`'s JSON.
    static func executables(fromDump data: Data) throws -> [String] {
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw RuntimeError(.buildFailed, "swift package dump-package did not print a package description")
        }
        var names: [String] = []
        for product in json["products"] as? [[String: Any]] ?? [] {
            if let type = product["type"] as? [String: Any], type["executable"] != nil, let name = product["name"] as? String, !names.contains(name) {
                names.append(name)
            }
        }
        for target in json["targets"] as? [[String: Any]] ?? [] {
            if target["type"] as? String == "executable", let name = target["name"] as? String, !names.contains(name) {
                names.append(name)
            }
        }
        return names
    }

    /// The product to build: `requested` when the package has it, else its only executable; throws
    /// ``RuntimeError/Code/missingProduct`` naming the candidates.
    static func choose(_ requested: String?, among executables: [String], package: String) throws -> String {
        if let requested {
            guard executables.contains(requested) else {
                throw RuntimeError(.missingProduct, "no executable product '\(requested)' in \(package); its executables: "
                                   + (executables.isEmpty ? "none" : executables.joined(separator: ", ")))
            }
            return requested
        }
        guard executables.count == 1, let only = executables.first else {
            throw RuntimeError(.missingProduct, executables.isEmpty
                ? "\(package) has no executable product to run"
                : "\(package) has several executables (\(executables.joined(separator: ", "))): name one with `product:` in \(RuntimeManifest.fileName)")
        }
        return only
    }

    /// Builds `product` in release mode, its output appended to `log`; the built executable's path.
    /// Throws ``RuntimeError/Code/buildFailed`` with the compiler's errors.
    func build(_ product: String, in package: String, log: String) async throws -> String {
        let swift = try Command.locate("swift", environment: environment)
        let outcome = try await Command(executable: swift, arguments: ["build", "-c", "release", "--product", product] + extraArguments,
                                        environment: environment, directory: package, timeout: timeout).run(log: log)
        guard outcome.succeeded else {
            throw RuntimeError(.buildFailed, "swift build of \(product) \(outcome.exit):\n\(Self.errors(in: outcome.output))")
        }
        let binPath = try await Command(executable: swift, arguments: ["build", "-c", "release", "--show-bin-path"] + extraArguments,
                                        environment: environment, directory: package, timeout: .seconds(120)).run()
        let directory = binPath.output.split(separator: "\n").last.map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
        let executable = directory + "/" + product
        guard binPath.succeeded, FileManager.default.isExecutableFile(atPath: executable) else {
            throw RuntimeError(.buildFailed, "swift build of \(product) left no executable at \(executable)")
        }
        return executable
    }

    /// The binary packager: copies `executable` to `destination` (a fresh file, mode 0755).
    static func package(_ executable: String, to destination: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try? fm.removeItem(atPath: destination)
        try fm.copyItem(atPath: executable, toPath: destination)
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: destination)
    }

    /// The compiler's error lines in a build's output (at most 20, each at most 400 characters), or
    /// its last 20 lines when none says `error:`.
    static func errors(in output: String) -> String {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: true)
        let errors = lines.filter { $0.contains("error:") }
        return (errors.isEmpty ? Array(lines.suffix(20)) : Array(errors.prefix(20))).map { String($0.prefix(400)) }.joined(separator: "\n")
    }
}
