import Foundation

/// Fetches git sources into a cache (`<home>/runtime/src`, one clone per URL, fetched again on each
/// use) and checks out the requested ref, with the real `git`. A clone is used under a file lock
/// (`<clone>.lock`): two runs of one URL, in one runtime or two, take turns.
struct SourceFetcher: Sendable {
    /// A checked-out source.
    struct Checkout: Sendable {
        /// The package directory (or the executable, for a binary source).
        var path: String
        /// The commit checked out (git), nil otherwise.
        var commit: String?
    }

    /// The cache directory.
    var cache: String
    /// The environment git runs with (its PATH, HOME).
    var environment: [String: String]
    /// The longest a clone or fetch may take.
    var timeout: Duration = .seconds(300)

    /// Brings `source` up to date: a git source cloned or fetched and its ref checked out; a directory
    /// or binary as it is. Throws ``RuntimeError/Code/fetchFailed`` with git's message, or
    /// ``RuntimeError/Code/missingRef``.
    func fetch(_ source: RuntimeSource) async throws -> Checkout {
        switch source.kind {
        case .directory(let path), .binary(let path):
            guard FileManager.default.fileExists(atPath: path) else { throw RuntimeError(.badSource, "\(path) is no longer there") }
            return Checkout(path: path, commit: nil)
        case .git(let url):
            let directory = cache + "/" + Self.directoryName(for: url)
            try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
            return try await FileLock.withLock(directory + ".lock") {
                if !FileManager.default.fileExists(atPath: directory + "/.git") {
                    try? FileManager.default.removeItem(atPath: directory)
                    try await git(["clone", "--quiet", "--no-checkout", "--", url, directory], in: nil, failure: .fetchFailed, "cannot clone \(url)")
                } else {
                    try await git(["fetch", "--quiet", "--force", "--tags", "--prune", "origin", "+refs/heads/*:refs/remotes/origin/*"],
                                  in: directory, failure: .fetchFailed, "cannot fetch \(url)")
                }
                let commit = try await resolve(source.ref, in: directory, url: url)
                try await check(out: commit, in: directory)
                return Checkout(path: directory, commit: commit)
            }
        }
    }

    /// Runs `body` with `checkout`'s directory holding its commit: for a git source, under the clone's
    /// lock, checked out again when another run moved it meanwhile (a build reads the files it names).
    func holding<T>(_ checkout: Checkout, of source: RuntimeSource, _ body: (String) async throws -> T) async throws -> T {
        guard case .git = source.kind, let commit = checkout.commit else { return try await body(checkout.path) }
        return try await FileLock.withLock(checkout.path + ".lock") {
            let head = try await command(["rev-parse", "--verify", "--quiet", "HEAD"], in: checkout.path).run()
            if !head.succeeded || head.output.trimmingCharacters(in: .whitespacesAndNewlines) != commit {
                try await check(out: commit, in: checkout.path)
            }
            return try await body(checkout.path)
        }
    }

    private func check(out commit: String, in directory: String) async throws {
        try await git(["checkout", "--quiet", "--force", "--detach", commit], in: directory, failure: .fetchFailed, "cannot check out \(commit)")
        try await git(["clean", "-fdxq", "-e", ".build"], in: directory, failure: .fetchFailed, "cannot clean the checkout")
    }

    /// The commit a ref names: a branch of origin, a tag, or a commit; the default branch for nil.
    private func resolve(_ ref: String?, in directory: String, url: String) async throws -> String {
        let candidates = ref.map { ["refs/remotes/origin/\($0)", "refs/tags/\($0)", $0] } ?? ["refs/remotes/origin/HEAD", "HEAD"]
        for candidate in candidates {
            let outcome = try await command(["rev-parse", "--verify", "--quiet", "--end-of-options", candidate + "^{commit}"], in: directory).run()
            let commit = outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
            if outcome.succeeded, commit.count == 40 || commit.count == 64 { return commit }
        }
        throw RuntimeError(.missingRef, ref.map { "\(url) has no branch, tag or commit '\($0)'" } ?? "\(url) has no default branch (an empty repository?)")
    }

    private func git(_ arguments: [String], in directory: String?, failure: RuntimeError.Code, _ what: String) async throws {
        let outcome = try await command(arguments, in: directory).run()
        guard outcome.succeeded else {
            let message = outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
            throw RuntimeError(failure, "\(what): git \(outcome.exit): \(message.suffix(2000))")
        }
    }

    private func command(_ arguments: [String], in directory: String?) throws -> Command {
        var env = environment
        env["GIT_TERMINAL_PROMPT"] = "0"   // never wait for a password on a terminal
        env["GIT_ASKPASS"] = "/bin/true"
        return Command(executable: try Command.locate("git", environment: env), arguments: arguments, environment: env,
                       directory: directory, timeout: timeout)
    }

    /// A cache directory name for a URL: its last component (safe characters only) and a hash of it all.
    static func directoryName(for url: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325   // FNV-1a, stable across runs (Hasher is seeded per process)
        for byte in url.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let last = url.split(separator: "/").last.map(String.init) ?? "source"
        let safe = String(last.unicodeScalars.filter { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_") }.prefix(40))
        return "\(safe.isEmpty ? "source" : safe)-\(String(hash, radix: 16))"
    }
}
