import ArgumentParser
import Foundation
import Micro

/// `micro stream SERVICE ENDPOINT [JSON]`: JSON lines in (the argument, or stdin), JSON lines out.
struct Stream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Open a stream: send JSON lines (argument or stdin), print each response as a JSON line.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Service name.") var service: String
    @Argument(help: "Endpoint, e.g. Greeter.Countdown.") var endpoint: String
    @Argument(help: "One request JSON; without it, requests are read from stdin, one per line.") var request: String?

    func run() async throws {
        try await runReporting {
            let firstMessage = try request.map { try jsonBody($0) }
            let client = try global.client()
            var options = global.callOptions
            options.streamTimeout = global.timeoutGiven ? options.timeout : nil
            let stream = try await client.openStream(service, endpoint, sending: ByteBuffer.self, receiving: ByteBuffer.self, options: options)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    if let firstMessage {
                        try await stream.send(firstMessage)
                    } else {
                        while let line = readLine() {
                            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                            try await stream.send(try jsonBody(line))
                        }
                    }
                    try await stream.finishSending()
                }
                while let message = try await stream.receive() { emit(String(buffer: message)) }
                group.cancelAll()
            }
            await client.shutdown()
        }
    }
}
