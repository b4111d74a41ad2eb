#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import MicroCore

/// The last good snapshot of a source, kept at `$MICRO_HOME/config/<source>.json` (mode 0600, in a
/// 0700 directory) so a service restarted while its source is down starts with what it last had.
struct SavedSnapshot: Sendable {
    /// The file.
    let path: String

    /// The file for `source` under `home`.
    init(home: String, source: String) {
        path = (home.hasSuffix("/") ? home : home + "/") + "config/\(source).json"
    }

    /// Writes `tree` whole: to a temporary file first, synced, then renamed over the old one, so a
    /// reader (or a crash) sees the old snapshot or the new one, never half of one.
    func save(_ tree: ConfigTree) throws(ConfigError) {
        let directory = (path as NSString).deletingLastPathComponent
        if let err = PrivateDirectory.make(directory) {
            throw ConfigError(.unavailable, "cannot create \(directory): \(String(cString: strerror(err)))")
        }
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ConfigError(.unavailable, "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = tree.jsonDocument()
        var written = 0
        var failure: Int32 = 0
        bytes.withUnsafeBytes { raw in
            while written < raw.count {
                let n = write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                written += n
            }
        }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        close(fd)
        if failure == 0, rename(temporary, path) != 0 { failure = errno }
        if failure != 0 {
            unlink(temporary)
            throw ConfigError(.unavailable, "cannot write \(path): \(String(cString: strerror(failure)))")
        }
    }

    /// The saved tree; nil when there is none, throws ``ConfigError`` when the file is unreadable or
    /// not a snapshot within `limits`.
    func load(limits: ConfigLimits) throws(ConfigError) -> ConfigTree? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ConfigError(.unavailable, "cannot read \(path)")
        }
        defer { try? handle.close() }
        // One byte past the limit tells a file that is too large from one that fits.
        let data: Data
        do {
            data = try handle.read(upToCount: limits.maxTotalBytes + 1) ?? Data()
        } catch {
            throw ConfigError(.unavailable, "cannot read \(path): \(error)")
        }
        guard data.count <= limits.maxTotalBytes else {
            throw ConfigError(.tooLarge, "\(path) is larger than \(limits.maxTotalBytes) bytes")
        }
        return try ConfigTree(document: Array(data), limits: ConfigLimits(
            maxDocumentBytes: limits.maxTotalBytes, maxTotalBytes: limits.maxTotalBytes, maxEntries: limits.maxEntries,
            maxDepth: limits.maxDepth, maxArrayElements: limits.maxArrayElements))
    }
}
