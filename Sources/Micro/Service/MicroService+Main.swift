#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension MicroService {
    /// Runs an executable's main: `body` makes and runs the service, and any error it throws (a taken
    /// address, an engine that cannot be reached, a bad `MICRO_*` value) ends the process with one line
    /// on stderr, `<program>: <error>`, and exit status 1 instead of a crash with a backtrace.
    ///
    /// SIGPIPE is ignored first, so writing to a pipe whose reader went away fails with EPIPE (an error
    /// to handle, e.g. with `FileHandle.write(contentsOf:)`) instead of killing the service.
    ///
    /// ```swift
    /// await MicroService.runMain {
    ///     let service = try MicroService(name: "greeter")
    ///     service.handle("Greeter.Hello") { (request: HelloRequest, _) in HelloReply(message: "Hello \(request.name)") }
    ///     try await service.runService()
    /// }
    /// ```
    public static func runMain(isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> Void) async {
        StandardStream.ignoreBrokenPipeSignal()
        do {
            try await body()
        } catch {
            StandardStream.report("\(programName): \(oneLine(error))")
            exit(1)
        }
    }

    /// The executable's name, as it was started.
    private static var programName: String {
        let path = CommandLine.arguments.first ?? "service"
        return path.split(separator: "/").last.map(String.init) ?? path
    }

    /// An error's description on one line (line breaks become spaces).
    static func oneLine(_ error: any Error) -> String {
        let text = (error as? MicroError).map { "\($0.detail.isEmpty ? $0.status : $0.detail) (\($0.code))" } ?? String(describing: error)
        return String(text.map { $0.isNewline ? " " : $0 })
    }
}
