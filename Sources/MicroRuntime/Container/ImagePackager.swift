import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The OCI image packager: an image from scratch with buildah (no daemon) holding the executable as
/// `/app/NAME` and exactly the shared libraries `ldd` says it loads (a `--static-swift-stdlib` build
/// still needs glibc's: libc, libm, libstdc++, libgcc_s and the loader), copied from the host at the
/// same paths, plus an empty `/tmp`.
struct ImagePackager: Sendable {
    /// Where buildah keeps images (the container runtime's storage).
    var containers: ContainerRuntime

    /// The most libraries an executable may load.
    static let maxLibraries = 256

    /// Builds `image` from `executable`, the tools' output appended to `log`; a scratch root file system
    /// is assembled under `workDirectory` and removed afterwards. Throws ``RuntimeError/Code/imageFailed``
    /// with the failing tool's message.
    func package(_ executable: String, as image: String, workDirectory: String, log: String) async throws {
        let fm = FileManager.default
        let name = (executable as NSString).lastPathComponent
        let ldd = try await Command(executable: try Command.locate("ldd", environment: containers.environment), arguments: [executable],
                                    environment: containers.environment, directory: nil, timeout: .seconds(60)).run()
        let libraries = try Self.libraries(fromLdd: ldd.output, succeeded: ldd.succeeded)
        try? fm.removeItem(atPath: workDirectory)
        defer { try? fm.removeItem(atPath: workDirectory) }
        let root = workDirectory + "/rootfs"
        do {
            try fm.createDirectory(atPath: root + "/app", withIntermediateDirectories: true)
            try fm.createDirectory(atPath: root + "/tmp", withIntermediateDirectories: true)
            try fm.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: root + "/tmp")
            try fm.copyItem(atPath: executable, toPath: root + "/app/" + name)
            for library in libraries {
                let destination = root + library
                try fm.createDirectory(atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                if !fm.fileExists(atPath: destination) { try fm.copyItem(atPath: try Self.realPath(library), toPath: destination) }
            }
        } catch {
            throw RuntimeError(.imageFailed, "cannot assemble the image's files for \(image): \(error)")
        }
        let from = try await buildah(["from", "--quiet", "--pull=never", "scratch"], log: log, what: "buildah from scratch")
        let container = from.split(separator: "\n").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard !container.isEmpty, !container.hasPrefix("-") else {
            throw RuntimeError(.imageFailed, "buildah from scratch named no working container: \(from.suffix(500))")
        }
        do {
            _ = try await buildah(["copy", "--quiet", container, root + "/", "/"], log: log, what: "buildah copy")
            _ = try await buildah(["config", "--entrypoint", #"["/app/\#(name)"]"#, "--workingdir", "/tmp",
                                   "--label", "io.micro.runtime=1", container], log: log, what: "buildah config")
            _ = try await buildah(["commit", "--quiet", "--rm", container, image], log: log, what: "buildah commit")
        } catch {
            _ = try? await containers.buildah(["rm", container]).run(log: log)
            throw error
        }
    }

    /// The file `path` names, every link followed (a copy of a link would leave the image without its target).
    static func realPath(_ path: String) throws -> String {
        guard let resolved = realpath(path, nil) else { throw RuntimeError(.imageFailed, "cannot resolve \(path): \(String(cString: strerror(errno)))") }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Runs buildah with `arguments`; its output, or ``RuntimeError/Code/imageFailed`` with its message.
    private func buildah(_ arguments: [String], log: String, what: String) async throws -> String {
        let outcome = try await containers.buildah(arguments).run(log: log)
        guard outcome.succeeded else {
            throw RuntimeError(.imageFailed, "\(what) \(outcome.exit): \(outcome.output.trimmingCharacters(in: .whitespacesAndNewlines).suffix(2000))")
        }
        return outcome.output
    }

    /// The absolute paths of the libraries in `ldd`'s output (the loader included; the vDSO is not a
    /// file). A statically linked executable has none. Throws ``RuntimeError/Code/imageFailed`` for a
    /// library not found, a path that is not plain and absolute, or more than ``maxLibraries``.
    static func libraries(fromLdd output: String, succeeded: Bool) throws -> [String] {
        if output.contains("not a dynamic executable") || output.contains("statically linked") { return [] }
        guard succeeded else { throw RuntimeError(.imageFailed, "ldd failed: \(output.suffix(1000))") }
        var paths: [String] = []
        for line in output.split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            if text.contains("=> not found") {
                throw RuntimeError(.imageFailed, "a library the executable needs is not on this machine: \(text.prefix(300))")
            }
            // `libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x…)`, `/lib64/ld-linux-x86-64.so.2 (0x…)`, `linux-vdso.so.1 (0x…)`.
            let target = text.range(of: "=> ").map { String(text[$0.upperBound...]) } ?? text
            let path = String(target.split(separator: " ", maxSplits: 1).first ?? "")
            guard path.hasPrefix("/") else { continue }
            guard path.utf8.count <= 1024, !path.split(separator: "/").contains(".."), !path.contains("\0") else {
                throw RuntimeError(.imageFailed, "ldd named a library path that is not plain: \(path.prefix(300))")
            }
            if !paths.contains(path) { paths.append(path) }
            guard paths.count <= maxLibraries else {
                throw RuntimeError(.imageFailed, "the executable loads more than \(maxLibraries) libraries")
            }
        }
        return paths
    }
}
