// Test helper for the JetStream kill -9 tests: consumes a topic in a group from a NATS event stream and
// prints each event's id as it is received, one line each, unbuffered — and never acknowledges, so
// whatever it received is redelivered to the group once it is killed and the ack wait passes.
//
//   EventConsumer <nats url> <topic> <group> <ack wait in milliseconds>
//   EventConsumer <nats url> <topic> <group> <ack wait in milliseconds> fetch-one
//
// With `fetch-one` it fetches one delivery straight from the group's JetStream consumer (as a member
// does before it looks at the delivery), prints `delivered <n> <stream sequence>` and waits to be killed:
// a member that dies while holding the delivery.
import Foundation
import MicroCore
import MicroNATS
import NATSClient

let arguments = CommandLine.arguments
guard arguments.count == 5 || (arguments.count == 6 && arguments[5] == "fetch-one"), let ackWait = Int(arguments[4]) else {
    FileHandle.standardError.write(Data("usage: EventConsumer <nats url> <topic> <group> <ack wait ms> [fetch-one]\n".utf8))
    exit(2)
}

func say(_ text: String) {
    let line = Array((text + "\n").utf8)
    _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

if arguments.count == 6 {
    let connection = try await NATSConnection.connect(NATSOptions(servers: [arguments[1]]))
    let js = JetStream(connection: connection)
    let consumer = NATSEventStream.consumerName(group: arguments[3], topic: arguments[2])
    let stream = NATSEventsConfiguration().streamName
    while true {
        let fetched = try await js.fetch(stream: stream, consumer: consumer, batch: 1, expires: .seconds(1))
        if let message = fetched.first {
            say("delivered \(message.metadata.delivered) \(message.metadata.streamSequence)")
            break
        }
    }
    while true { try await Task.sleep(for: .seconds(3600)) }
}

let stream = NATSEventStream(options: NATSOptions(servers: [arguments[1]]))
let consumer = try await stream.consume(arguments[2], options: ConsumeOptions(group: arguments[3], start: .beginning,
                                                                                ackWait: .milliseconds(ackWait)))
for try await event in consumer { say(event.id) }
await stream.shutdown()
