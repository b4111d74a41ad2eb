import Foundation

/// The real git, run by tests to make repositories.
public enum Git {
    /// Runs git with `arguments` in `directory` (a test identity, no signing); its output.
    @discardableResult
    public static func run(_ arguments: [String], in directory: URL) throws -> String {
        try ChildProcess.run("/usr/bin/git", ["-c", "user.name=Runtime Test", "-c", "user.email=runtime@example.com",
                                              "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"] + arguments,
                             directory: directory, timeout: .seconds(30))
    }

    /// A repository at `scratch/name` holding `files` in one commit on `main`; returns the commit.
    @discardableResult
    public static func repository(_ scratch: Scratch, _ name: String, files: [String: String]) throws -> String {
        try scratch.write(files, in: name)
        let directory = scratch.url.appendingPathComponent(name)
        try run(["init", "-q"], in: directory)
        return try commit(directory, message: "first")
    }

    /// Commits everything in `directory`; returns the commit.
    @discardableResult
    public static func commit(_ directory: URL, message: String) throws -> String {
        try run(["add", "-A"], in: directory)
        try run(["commit", "-q", "-m", message], in: directory)
        return try run(["rev-parse", "HEAD"], in: directory).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
