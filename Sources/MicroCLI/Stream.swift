import ArgumentParser
import Foundation
import Micro
import MicroGRPC

/// `micro stream SERVICE ENDPOINT [JSON]`: JSON lines in (the argument, or stdin), JSON lines out.
struct Stream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Open a stream: send JSON lines (argument or stdin), print each response as a JSON line.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Service name.") var service: String
    @Argument(help: "Endpoint, e.g. Greeter.Countdown.") var endpoint: String
    @Argument(help: "One request JSON; without it, requests are read from stdin, one per line.") var request: String?
    @Option(help: "Open the stream to this address directly instead of looking the service up.") var address: String?

    func run() async throws {
        try await runReporting {
            if let request { _ = try jsonBody(request) }  // malformed JSON fails before any call
            try await global.withClient { client in
                var options = global.callOptions
                options.streamTimeout = global.timeoutGiven ? options.timeout : nil
                options.address = address
                // A gRPC server that is not a Micro service: JSON through the descriptors its reflection serves.
                let dynamic = address != nil ? nil : try await GRPCDynamicMethod.resolve(client: client, service: service, endpoint: endpoint, options: options)
                let encode: @Sendable (String) throws -> ByteBuffer = { json in
                    let body = try jsonBody(json)
                    return try dynamic?.encodeRequest(json) ?? body
                }
                let stream = try await client.openStream(service, dynamic?.method.path ?? endpoint, sending: ByteBuffer.self, receiving: ByteBuffer.self,
                                                         options: dynamic?.options ?? options)
                let first = request
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        if let first {
                            try await stream.send(try encode(first))
                        } else {
                            while let line = readLine() {
                                if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                                try await stream.send(try encode(line))
                            }
                        }
                        try await stream.finishSending()
                    }
                    while let message = try await stream.receive() { try emit(try dynamic?.decodeResponse(message) ?? String(buffer: message)) }
                    group.cancelAll()
                }
            }
        }
    }
}
