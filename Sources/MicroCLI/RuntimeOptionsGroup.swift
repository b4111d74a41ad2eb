import ArgumentParser
import Micro
import MicroRuntime

/// What the runtime commands share: which runtime service to call.
struct RuntimeCallOptions: ParsableArguments {
    @Option(name: .customLong("runtime"), help: "The runtime service to call (default runtime).") var service: String = RuntimeHandler.serviceName

    /// Runs `body` with a client of the runtime service.
    func withRuntime<T: Sendable>(_ global: GlobalOptions, _ body: (RuntimeClient) async throws -> T) async throws -> T {
        try await global.withClient { client in
            do {
                return try await body(RuntimeClient(client: client, service: service, options: global.callOptions))
            } catch let error as MicroError where error.code == 404 && error.id == "go.micro.client" {
                throw MicroError.notFound("micro", "no runtime service '\(service)' is running: start one with `micro runtime`")
            }
        }
    }
}

/// Seconds as a duration.
func seconds(_ value: Double) -> Duration { .milliseconds(Int64(value * 1000)) }
