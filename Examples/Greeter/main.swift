import Foundation
import Micro

/// `Greeter.Hello`'s request.
struct HelloRequest: Codable, Sendable { var name: String }
/// `Greeter.Hello`'s response.
struct HelloReply: Codable, Sendable { var message: String }
/// `Greeter.Countdown`'s request: count down from `from`.
struct CountRequest: Codable, Sendable { var from: Int }
/// One tick of the countdown.
struct Tick: Codable, Sendable { var n: Int }
/// The event on topic `greetings`.
struct Greeting: Codable, Sendable { var text: String }

/// The greeter's endpoints as one handler type.
struct Greeter: EndpointGroup {
    func registerEndpoints(on router: Router) {
        router.handle("Greeter.Hello") { (request: HelloRequest, _) in
            guard !request.name.isEmpty else { throw MicroError.badRequest("greeter", "name is required") }
            return HelloReply(message: "Hello \(request.name)")
        }
        router.handle("Greeter.Countdown") { (request: CountRequest, stream: ServerStream<Tick>, _) in
            guard (0...10_000).contains(request.from) else { throw MicroError.badRequest("greeter", "from must be 0...10000") }
            for n in (0..<request.from).reversed() { try await stream.send(Tick(n: n)) }
        }
    }
}

let service = try Service(name: "greeter", version: "1.0.0")
service.register(Greeter())
service.subscribe("greetings", queue: "greeter") { (event: Greeting, context) in
    context.logger.info("greeting received: \(event.text)")
    FileHandle.standardOutput.write(Data("received greeting: \(event.text)\n".utf8))
}
try await service.runService()
