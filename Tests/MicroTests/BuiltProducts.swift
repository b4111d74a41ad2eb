import Foundation

/// Finds the executables `swift build` produced (`greeter`, `micro`) for the integration tests.
///
/// Looks in `$MICRO_BUILD_DIR` alone when it is set (the directory holding the executables, or a
/// scratch path with `debug/` under it); otherwise, in order, in the directory of the running test binary (so
/// `swift test --scratch-path X` finds what `swift build --build-tests --scratch-path X` built), then in
/// the package's `.build/debug` and `.build/x86_64-unknown-linux-gnu/debug`. A missing executable is
/// an error saying where it looked and how to build it — never a silent skip.
enum BuiltProducts {
    /// The package root, derived from this file's path (`<root>/Tests/MicroTests/BuiltProducts.swift`).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The directories searched, most specific first.
    static var searchDirectories: [URL] {
        var dirs: [URL] = []
        if let override = ProcessInfo.processInfo.environment["MICRO_BUILD_DIR"], !override.isEmpty {
            let base = URL(fileURLWithPath: override, relativeTo: packageRoot).standardizedFileURL
            dirs += [base, base.appendingPathComponent("debug"),
                     base.appendingPathComponent("x86_64-unknown-linux-gnu/debug"),
                     base.appendingPathComponent("aarch64-unknown-linux-gnu/debug")]
            return dirs  // an override is the only place looked in
        }
        if let running = runningExecutable { dirs.append(running.deletingLastPathComponent()) }
        let build = packageRoot.appendingPathComponent(".build")
        dirs += [build.appendingPathComponent("debug"),
                 build.appendingPathComponent("x86_64-unknown-linux-gnu/debug"),
                 build.appendingPathComponent("aarch64-unknown-linux-gnu/debug")]
        var seen = Set<String>()
        return dirs.filter { seen.insert($0.resolvingSymlinksInPath().path).inserted }
    }

    /// The test binary that is running, when it can be told.
    private static var runningExecutable: URL? {
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: exe)
        }
        return Bundle.main.executableURL
    }

    /// The path of the executable `name`; throws ``MissingExecutable`` when no candidate has it.
    static func executable(_ name: String) throws -> URL {
        let dirs = searchDirectories
        for dir in dirs {
            let candidate = dir.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw MissingExecutable(name: name, searched: dirs.map(\.path))
    }
}

/// A built executable the integration tests need is not there.
struct MissingExecutable: Error, CustomStringConvertible {
    var name: String
    var searched: [String]
    var description: String {
        "executable '\(name)' not found; build it first (scripts/test runs `swift build --build-tests`, "
            + "or set MICRO_BUILD_DIR). Looked in: \(searched.joined(separator: ", "))"
    }
}
