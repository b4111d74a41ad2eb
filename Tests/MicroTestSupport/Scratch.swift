import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A temporary directory for one test, removed by ``remove()``.
public struct Scratch: Sendable {
    /// The directory.
    public let url: URL
    /// Its path.
    public var path: String { url.path }

    /// A new directory under the temporary directory.
    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("micro-runtime-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// Removes it and everything in it, and the lock files SwiftPM left in the temporary directory
    /// for packages in it (named after their paths, `/` as `_`).
    public func remove() {
        let files = FileManager.default
        try? files.removeItem(at: url)
        let temporary = files.temporaryDirectory
        let prefix = url.path.replacingOccurrences(of: "/", with: "_") + "_"
        for name in (try? files.contentsOfDirectory(atPath: temporary.path)) ?? [] where name.hasPrefix(prefix) && name.hasSuffix(".lock") {
            try? files.removeItem(at: temporary.appendingPathComponent(name))
        }
    }

    /// Writes `files` (relative path → contents) under `directory`.
    public func write(_ files: [String: String], in directory: String) throws {
        for (relative, contents) in files {
            let file = url.appendingPathComponent(directory).appendingPathComponent(relative)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try contents.write(to: file, atomically: true, encoding: .utf8)
        }
    }

    /// An executable shell script.
    public func script(_ name: String, _ body: String) throws -> String {
        let path = url.appendingPathComponent(name).path
        try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }
}

