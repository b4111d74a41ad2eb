import ArgumentParser
import Foundation
import Logging
import Micro
import MicroConsul
import MicroEtcd
import MicroGRPC
import MicroGossip
import MicroMDNS
import MicroNATS
import MicroPostgres
import MicroTLS

/// `micro`: list, describe, call, stream, publish, subscribe and health-check services; read and write stores;
/// publish, consume and read events; hold locks and lead elections.
@main
struct MicroCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "micro",
        abstract: "Swift Micro: find, call and watch services.",
        subcommands: [Services.self, Describe.self, Call.self, Stream.self, Publish.self, Subscribe.self, Health.self, Logs.self, Stats.self, Trace.self,
                      StoreCommand.self, EventsCommand.self, ConfigCommand.self, SyncCommand.self, AuthCommand.self, Login.self,
                      RuntimeCommand.self, Run.self, Ps.self, Kill.self, Update.self, APICommand.self, WebCommand.self])

    /// Accepts the shared options before the subcommand too (`micro --registry memory services`),
    /// as go-micro's CLI does, by moving them after it.
    /// SIGPIPE is ignored, so a reader that went away (`micro stream … | head -1`) is an EPIPE from the
    /// write, which ends the command quietly with status 0; log lines go to stderr, never into the output.
    static func main() async {
        StandardStream.ignoreBrokenPipeSignal()
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        await main(Array(hoistingGlobalOptions(Array(CommandLine.arguments.dropFirst()))))
    }

    /// The arguments with leading `--registry`, `--registry-address` and `--timeout` (with their
    /// values, as `--x v` or `--x=v`) moved after the subcommand.
    static func hoistingGlobalOptions(_ args: [String]) -> [String] {
        let global: Set<String> = ["--registry", "--registry-address", "--timeout"]
        var moved: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            let name = String(a.split(separator: "=", maxSplits: 1).first ?? "")
            guard global.contains(name) else { break }
            moved.append(a)
            if !a.contains("="), i + 1 < args.count { moved.append(args[i + 1]); i += 1 }
            i += 1
        }
        guard !moved.isEmpty, i < args.count else { return args }
        return [args[i]] + moved + args[(i + 1)...]
    }
}

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Registry: local (default), memory, mdns, nats, etcd, consul or gossip. Overrides MICRO_REGISTRY.")
    var registry: String?

    @Option(name: .customLong("registry-address"), help: "Registry address (local: its directory; nats: server URLs; etcd: member addresses; comma-separated). Overrides MICRO_REGISTRY_ADDRESS.")
    var registryAddress: String?

    @Option(help: "Give up after this many seconds (default 5; streams: no limit; at most a year).")
    var timeout: Double?

    var timeoutGiven: Bool { timeout != nil }

    func validate() throws {
        if let timeout { try validateSeconds(timeout, option: "--timeout") }
    }

    var environment: MicroEnvironment {
        var env = MicroEnvironment()
        if let registry { env.registry = registry.lowercased() }
        if let registryAddress { env.registryAddress = registryAddress }
        return env
    }

    /// The call defaults: the timeout, and the token `micro login` kept (sent as `Authorization: Bearer`).
    var callOptions: CallOptions {
        var options = CallOptions(timeout: .milliseconds(Int64(max(0.001, timeout ?? 5) * 1000)))
        if let authorization = TokenFile.authorization(environment) { options.metadata[BearerToken.header] = authorization }
        return options
    }

    /// Every engine the CLI knows: the embedded ones and every engine module's (PostgreSQL's store and
    /// event store for `micro store --local`, `micro events read` and `micro sync`).
    static let engines = Engines.embedded.adding([.nats, .etcd, .consul, .gossip, .mdns, .grpc, .postgres, .tls])

    /// Runs `body` with a client on the chosen engines, closed when it returns or throws.
    func withClient<T: Sendable>(_ body: (Client) async throws -> T) async throws -> T {
        try await Micro.withClient(engines: Self.engines, environment: environment, defaults: callOptions, body)
    }

    /// Runs `body` with the chosen registry and broker (neither connects before it is used), closed
    /// when `body` returns or throws.
    func withEngines<T: Sendable>(_ body: (any Registry, any Broker) async throws -> T) async throws -> T {
        var context = EngineContext(environment: environment)
        let registry = try Self.engines.makeRegistry(context)
        context.registry = registry
        let broker: any Broker
        do { broker = try Self.engines.makeBroker(context) } catch {
            await registry.shutdown()
            throw error
        }
        let result: T
        do { result = try await body(registry, broker) } catch {
            await broker.shutdown()
            await registry.shutdown()
            throw error
        }
        await broker.shutdown()
        await registry.shutdown()
        return result
    }
}

/// The longest span of seconds `--timeout` and `--duration` take: a year.
let maxSeconds: Double = 365 * 24 * 3600

/// Accepts a finite number of seconds greater than 0 and at most ``maxSeconds``.
func validateSeconds(_ seconds: Double, option: String) throws {
    guard seconds.isFinite, seconds > 0, seconds <= maxSeconds else {
        throw ValidationError("\(option) must be a number of seconds greater than 0 and at most \(Int(maxSeconds)) (a year), not \(seconds)")
    }
}

/// Runs a command body; any failure becomes one line on stderr and exit code 1 (a `MicroError`, or an
/// error that stands for one, as go-micro's JSON error). A reader of stdout
/// that went away (EPIPE) is no failure: the command ends quietly with exit code 0.
@discardableResult
func runReporting<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let e as StandardStreamError where e.isBrokenPipe && e.stream == .output {
        throw ExitCode.success
    } catch let e as MicroError {
        StandardStream.report("error: \(e.json)")
        throw ExitCode(1)
    } catch let e as any MicroErrorConvertible {
        // A typed error (an auth service's 401, a store's 404...) prints as the go-micro error it stands for.
        StandardStream.report("error: \(e.microError.json)")
        throw ExitCode(1)
    } catch let e as ExitCode {
        throw e
    } catch {
        StandardStream.report("error: \(error)")
        throw ExitCode(1)
    }
}

/// Writes a line to stdout at once (no buffer), so pipes see it; throws when stdout cannot be written.
func emit(_ line: String) throws {
    // One line per message: go-micro's JSON codec ends each body with a newline of its own.
    var line = Substring(line)
    while let last = line.last, last == "\n" || last == "\r" || last == "\r\n" { line.removeLast() }
    try StandardStream.output.write(line + "\n")
}

/// Parses a JSON argument, failing with a clear message when it is not JSON.
func jsonBody(_ text: String) throws -> ByteBuffer {
    try jsonBody(Data(text.utf8))
}

/// Checks that `data` is JSON; the error quotes at most the first 100 characters of it.
func jsonBody(_ data: Data) throws -> ByteBuffer {
    guard (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil else {
        let text = String(decoding: data, as: UTF8.self)
        let quoted = text.count > 100 ? "\(text.prefix(100))… (\(data.count) bytes)" : text
        throw MicroError.badRequest("micro", "not valid JSON: \(quoted)")
    }
    return ByteBuffer(bytes: data)
}
