// Test helper for the JetStream kill -9 test: consumes a topic in a group from a NATS event stream and
// prints each event's id as it is received, one line each, unbuffered — and never acknowledges, so
// whatever it received is redelivered to the group once it is killed and the ack wait passes.
//
//   EventConsumer <nats url> <topic> <group> <ack wait in milliseconds>
import Foundation
import MicroCore
import MicroNATS
import NATSClient

let arguments = CommandLine.arguments
guard arguments.count == 5, let ackWait = Int(arguments[4]) else {
    FileHandle.standardError.write(Data("usage: EventConsumer <nats url> <topic> <group> <ack wait ms>\n".utf8))
    exit(2)
}
let stream = NATSEventStream(options: NATSOptions(servers: [arguments[1]]))
let consumer = try await stream.consume(arguments[2], options: ConsumeOptions(group: arguments[3], start: .beginning,
                                                                                ackWait: .milliseconds(ackWait)))
for try await event in consumer {
    let line = Array((event.id + "\n").utf8)
    _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}
await stream.shutdown()
