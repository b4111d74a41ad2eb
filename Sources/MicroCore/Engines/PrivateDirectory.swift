#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The directories engines keep their files in under `$MICRO_HOME` (the local registry, the SQLite
/// store): readable by their owner only, so other local users cannot read or plant records.
package enum PrivateDirectory {
    /// Creates `dir` and its missing parents with mode 0700 (existing ones keep theirs); the errno
    /// of a failure, nil when `dir` is a directory now.
    package static func make(_ dir: String) -> Int32? {
        var st = stat()
        if stat(dir, &st) == 0 { return (st.st_mode & S_IFMT) == S_IFDIR ? nil : ENOTDIR }
        let parent = (dir as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != dir, let err = make(parent) { return err }
        if mkdir(dir, 0o700) == 0 { return nil }
        let err = errno
        return err == EEXIST && stat(dir, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR ? nil : err
    }
}
