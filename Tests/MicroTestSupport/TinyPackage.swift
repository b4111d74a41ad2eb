/// A Swift package with one tiny executable (no dependencies: it builds in seconds), which prints a
/// line and sleeps until it is stopped.
public enum TinyPackage {
    /// The package's files (relative path → contents); `mainBody` replaces its main.swift.
    public static func files(product: String = "tiny", mainBody: String? = nil) -> [String: String] {
        [
            "Package.swift": """
            // swift-tools-version:5.9
            import PackageDescription
            let package = Package(name: "\(product)", targets: [.executableTarget(name: "\(product)", path: "Sources/\(product)")])
            """,
            "Sources/\(product)/main.swift": mainBody ?? """
            #if canImport(Glibc)
            import Glibc
            #endif
            setvbuf(stdout, nil, _IOLBF, 0)
            print("tiny says hello")
            while true { sleep(1) }
            """,
        ]
    }

    /// A package with a library and no executable.
    public static let library: [String: String] = [
        "Package.swift": """
        // swift-tools-version:5.9
        import PackageDescription
        let package = Package(name: "lib", products: [.library(name: "lib", targets: ["lib"])], targets: [.target(name: "lib", path: "Sources/lib")])
        """,
        "Sources/lib/lib.swift": "public let answer = 42\n",
    ]
}
