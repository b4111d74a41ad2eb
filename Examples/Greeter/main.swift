import Configuration
import Foundation
import Logging
import Micro
import MicroAuth
import MicroConfig
import MicroEtcd
import MicroGRPC
import MicroGossip
import MicroMDNS
import MicroNATS
import MicroTLS
import ServiceLifecycle
import SwiftProtobuf

/// The event on topic `greetings`.
struct Greeting: Codable, Sendable { var text: String }

/// The greeter's configuration (section `greeter`): the greeting text, 1 to 100 characters. It comes
/// from arguments (`--greeter.greeting`), the environment (`GREETER_GREETING`), `MICRO_CONFIG_FILE`, or
/// the shared source (`MICRO_CONFIG=etcd`, `micro config set greeter '{"greeting":"Hi"}'`), and
/// changes live; a value that fails validation is refused and the last good one stays.
struct GreeterSettings: Codable, Equatable, Sendable {
    var greeting: String

    static let standard = GreeterSettings(greeting: "Hello")

    static func validate(_ settings: GreeterSettings) throws {
        guard (1...100).contains(settings.greeting.count) else {
            throw ConfigurationError("greeter.greeting must be 1 to 100 characters, got \(settings.greeting.count)")
        }
    }
}

/// The greeter's endpoints, protobuf-first from `Protos/greeter.proto` (code in `Generated/`):
/// `Greeter.Hello` and `Greeter.Countdown` over every transport, with JSON or protobuf; over gRPC
/// also `/greeter.v1.Greeter/Hello` and `/greeter.v1.Greeter/Countdown` for generated clients.
struct Greeter: EndpointGroup {
    let settings: ConfigSection<GreeterSettings>

    func registerEndpoints(on router: Router) {
        router.handle(Greeter_V1_Greeter.Method.Hello.descriptor) { (request: Greeter_V1_HelloRequest, _) in
            guard !request.name.isEmpty else { throw MicroError.badRequest("greeter", "name is required") }
            let greeting = settings.value.greeting
            return Greeter_V1_HelloReply.with { $0.message = "\(greeting) \(request.name)" }
        }
        router.handle(Greeter_V1_Greeter.Method.Countdown.descriptor) { (request: Greeter_V1_CountRequest, stream: ServerStream<Greeter_V1_Tick>, _) in
            guard (0...10_000).contains(request.from) else { throw MicroError.badRequest("greeter", "from must be 0...10000") }
            for n in (0..<request.from).reversed() { try await stream.send(Greeter_V1_Tick.with { $0.n = n }) }
        }
    }
}

// `runMain`: an error (a taken address, an engine that cannot be reached) is one line on stderr and
// exit status 1, not a crash; SIGPIPE is ignored, so a closed stdout is an error to handle.
await MicroService.runMain {
    // The engines `MICRO_*` may name beyond the embedded ones (local registry, HTTP transport and broker):
    // the ones this example is run with. A service on etcd or Consul adds `.etcd` / `.consul` the same way.
    // `.jwtAuth`: with `MICRO_AUTH=jwt` every call is checked against the rules (README, "Securing the greeter").
    // `.tls`: HTTP over TLS (mutual with a client CA) from `MICRO_TLS_*` (README, "TLS and certificate identity").
    let plugins: [EnginePlugin] = [.grpc, .nats, .gossip, .mdns, .etcd, .jwtAuth, .tls]
    let service = try MicroService(name: "greeter", version: "1.0.0", plugins: plugins)
    // Configuration in the standard order, the greeting defaulting to "Hello"; kept live while it runs.
    let config = try await ServiceConfig.standard(defaults: ["greeter.greeting": "Hello"], engines: Engines.embedded.adding(plugins))
    let settings = ConfigSection("greeter", reader: config.reader, default: .standard, validate: GreeterSettings.validate)
    // The proto's descriptors, so gRPC server reflection (grpcurl list/describe) can describe the API.
    service.router.addDescriptorSet(Array(Data(base64Encoded: GreeterDescriptors.base64, options: .ignoreUnknownCharacters) ?? Data()))
    service.register(Greeter(settings: settings))
    // Printing blocks while stdout's pipe is full: `blocking` keeps that off the broker's event loop.
    service.subscribe("greetings", queue: "greeter", blocking: true) { (event: Greeting, context) in
        context.logger.info("greeting received: \(event.text)")
        // `write(contentsOf:)` throws where `write(_:)` traps (EPIPE when the reader went away, ENOSPC):
        // a lost line of output is logged and dropped, never a reason to stop serving.
        do {
            try FileHandle.standardOutput.write(contentsOf: Data("received greeting: \(event.text)\n".utf8))
        } catch {
            context.logger.warning("cannot print the greeting, dropped", metadata: ["error": "\(error)"])
        }
    }
    // The configuration's watchers start first and stop last; SIGTERM/SIGINT stop the group gracefully.
    let group = ServiceGroup(configuration: .init(
        services: [.init(service: config), .init(service: settings), .init(service: service)],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: Logger(label: "greeter")))
    try await group.run()
}
