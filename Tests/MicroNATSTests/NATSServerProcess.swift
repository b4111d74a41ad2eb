import MicroTestSupport
import Testing

/// Every NATS suite runs inside this one, one test at a time (they start real servers and bound timings).
@Suite(.serialized) enum NATSSuite {}

// The engine harness lives in MicroTestSupport, shared with the integration tests.
typealias NATSServerProcess = MicroTestSupport.NATSServerProcess
typealias EngineMissing = MicroTestSupport.EngineMissing
func freePort() throws -> Int { try MicroTestSupport.freePort() }
func canConnect(port: Int) -> Bool { MicroTestSupport.canConnect(port: port) }
func testPython() throws -> String { try MicroTestSupport.testPython() }
