import Foundation

/// Where a service comes from: a git repository (`https://…`, `http://…`, `git://…`, `ssh://…`,
/// `file://…`, or a local directory that is a git repository), a plain local directory holding a
/// Swift package, or a prebuilt executable file; with an optional ref (`SOURCE@REF`: a branch, tag
/// or commit) for git. Parsed once, so a bad source is a ``RuntimeError/Code/badSource`` before anything runs.
public struct RuntimeSource: Sendable, Hashable, Codable, CustomStringConvertible {
    /// What kind of source it is.
    public enum Kind: Sendable, Hashable, Codable {
        /// A git repository to clone: its URL (a local repository as a `file://` URL).
        case git(url: String)
        /// A local directory holding a Swift package, built in place.
        case directory(path: String)
        /// A prebuilt executable, run as it is (the binary packager's input).
        case binary(path: String)
    }

    /// The longest source text accepted.
    public static let maxLength = 2048

    /// The kind, with its URL or path.
    public var kind: Kind
    /// The branch, tag or commit to check out (git only); nil for the repository's default branch.
    public var ref: String?

    /// Parses `SOURCE[@REF]`; a relative path is taken from `directory` (default: the current one).
    /// Throws ``RuntimeError/Code/badSource`` for anything else, naming what was wrong.
    public init(parsing text: String, relativeTo directory: String = FileManager.default.currentDirectoryPath) throws {
        guard !text.isEmpty, text.utf8.count <= Self.maxLength else {
            throw RuntimeError(.badSource, "a source is 1 to \(Self.maxLength) bytes, got \(text.utf8.count)")
        }
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == " " }) else {
            throw RuntimeError(.badSource, "a source holds no spaces or control characters: \(Self.quoted(text))")
        }
        var location = text
        var ref: String?
        // A ref follows the last `@` after the last `/` (so `https://user@host/repo` has none).
        if let at = text.lastIndex(of: "@"), text[at...].firstIndex(of: "/") == nil,
           !text[..<at].isEmpty, text.firstIndex(of: "/").map({ $0 < at }) ?? false {
            location = String(text[..<at])
            ref = String(text[text.index(after: at)...])
            guard let r = ref, Self.isValidRef(r) else {
                throw RuntimeError(.badSource, "bad ref in \(Self.quoted(text)): a ref is a branch, tag or commit name")
            }
        }
        self.ref = ref
        if let separator = location.range(of: "://") {
            let scheme = location[..<separator.lowerBound].lowercased()
            guard ["https", "http", "git", "ssh", "file"].contains(scheme) else {
                throw RuntimeError(.badSource, "unsupported scheme '\(scheme)' in \(Self.quoted(text)): use https, http, git, ssh, file or a local path")
            }
            let rest = location[separator.upperBound...]
            if scheme == "file" {
                guard rest.hasPrefix("/"), rest.count > 1 else {
                    throw RuntimeError(.badSource, "a file URL names an absolute path (file:///path/to/repo): \(Self.quoted(text))")
                }
            } else {
                let host = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
                guard host.count == 2, !host[0].isEmpty, !host[1].isEmpty else {
                    throw RuntimeError(.badSource, "a \(scheme) URL names a host and a repository path: \(Self.quoted(text))")
                }
            }
            kind = .git(url: location)
            return
        }
        let path = URL(fileURLWithPath: location, relativeTo: URL(fileURLWithPath: directory, isDirectory: true)).standardizedFileURL.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            guard location.hasPrefix("/") || location.hasPrefix(".") else {
                throw RuntimeError(.badSource, "not a git URL (https://, http://, git://, ssh://, file://) or a local path: \(Self.quoted(text))")
            }
            throw RuntimeError(.badSource, "no such file or directory: \(path)")
        }
        if !isDirectory.boolValue {
            guard FileManager.default.isExecutableFile(atPath: path), ref == nil else {
                throw RuntimeError(.badSource, "\(path) is a file but not an executable one (a prebuilt executable takes no ref)")
            }
            kind = .binary(path: path)
        } else if FileManager.default.fileExists(atPath: path + "/.git") {
            kind = .git(url: "file://" + path)
        } else {
            guard ref == nil else { throw RuntimeError(.badSource, "\(path) is not a git repository, so it takes no ref") }
            kind = .directory(path: path)
        }
    }

    /// A source of a given kind and ref.
    public init(kind: Kind, ref: String? = nil) {
        self.kind = kind
        self.ref = ref
    }

    /// The source as text, `SOURCE[@REF]`, parsable again.
    public var description: String {
        let base: String
        switch kind {
        case .git(let url): base = url
        case .directory(let path), .binary(let path): base = path
        }
        return ref.map { "\(base)@\($0)" } ?? base
    }

    /// A name to run the source under when no manifest names it: the last path component without `.git`.
    public var defaultName: String {
        let base: String
        switch kind {
        case .git(let url): base = url
        case .directory(let path), .binary(let path): base = path
        }
        var last = base.split(separator: "/").last.map(String.init) ?? "service"
        if last.hasSuffix(".git") { last.removeLast(4) }
        return RuntimeManifest.isValidName(last) ? last : "service"
    }

    /// A branch, tag or commit name git accepts and no option: `[A-Za-z0-9._/-]`, not starting with `-` or `.`.
    static func isValidRef(_ ref: String) -> Bool {
        guard (1...200).contains(ref.utf8.count), let first = ref.first, first != "-", first != "." else { return false }
        return !ref.contains("..") && ref.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._/-".unicodeScalars.contains($0)) }
    }

    static func quoted(_ text: String) -> String {
        text.count > 100 ? "'\(text.prefix(100))…'" : "'\(text)'"
    }
}
