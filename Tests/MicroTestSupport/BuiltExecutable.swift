import Foundation

/// A test-only executable of this package (`StoreWriter`, `EventConsumer`, `SyncContender`): beside the running test
/// binary, or in the package's `.build` (`MICRO_BUILD_DIR` overrides); an error saying where it
/// looked when it is not built.
public func builtExecutable(_ name: String) throws -> String {
    var dirs: [String] = []
    if let override = ProcessInfo.processInfo.environment["MICRO_BUILD_DIR"], !override.isEmpty {
        dirs += [override, override + "/debug"]
    }
    if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        dirs.append((exe as NSString).deletingLastPathComponent)
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    dirs += [root + "/.build/debug", root + "/.build/x86_64-unknown-linux-gnu/debug", root + "/.build/aarch64-unknown-linux-gnu/debug"]
    for dir in dirs where FileManager.default.isExecutableFile(atPath: dir + "/" + name) { return dir + "/" + name }
    throw EngineMissing(description: "\(name) not built (run `swift build --build-tests`); looked in \(dirs.joined(separator: ", "))")
}
