import Foundation
import GRPCCore
import MicroCore
import MicroGRPC
import NIOConcurrencyHelpers

/// gRPC's interop TestService (doc/interop-test-descriptions.md, server side), protobuf-first on
/// a Micro router: what the Python grpcio interop client expects of any gRPC server.
struct InteropTestService {
    typealias Method = Grpc_Testing_TestService.Method

    /// The descriptor set of the interop protos, for reflection.
    static let descriptorSet: [UInt8] = Array(Data(base64Encoded: MicroGRPCTestsDescriptors.base64, options: .ignoreUnknownCharacters)!)

    /// Calls whose handler was ended by the caller's cancellation (cancel_after_begin, cancel_after_first_response).
    static let cancellations = NIOLockedValueBox<[String]>([])

    func register(on router: Router) {
        router.handle(Method.EmptyCall.descriptor) { (_: Grpc_Testing_Empty, _) in Grpc_Testing_Empty() }
        router.handle(Method.UnaryCall.descriptor) { (request: Grpc_Testing_SimpleRequest, _) in
            Self.echoMetadata()
            try Self.failIfAsked(request.hasResponseStatus ? request.responseStatus : nil)
            var response = Grpc_Testing_SimpleResponse()
            response.payload.body = Data(count: Int(request.responseSize))
            return response
        }
        router.handle(Method.StreamingOutputCall.descriptor) {
            (request: Grpc_Testing_StreamingOutputCallRequest, stream: ServerStream<Grpc_Testing_StreamingOutputCallResponse>, _) in
            Self.echoMetadata()
            try await Self.respond(request, stream)
        }
        router.handleClientStream(Method.StreamingInputCall.descriptor) {
            (requests: RequestStream<Grpc_Testing_StreamingInputCallRequest>, _) -> Grpc_Testing_StreamingInputCallResponse in
            var total = 0
            do {
                for try await r in requests { total += r.payload.body.count }
            } catch {
                // The caller's reset ends the request stream (and cancels the task, in whichever order).
                Self.cancellations.withLockedValue { $0.append("StreamingInputCall") }
                throw error
            }
            var response = Grpc_Testing_StreamingInputCallResponse()
            response.aggregatedPayloadSize = Int32(total)
            return response
        }
        router.handleBidiStream(Method.FullDuplexCall.descriptor) {
            (requests: RequestStream<Grpc_Testing_StreamingOutputCallRequest>, stream: ServerStream<Grpc_Testing_StreamingOutputCallResponse>, _) in
            Self.echoMetadata()
            do {
                for try await request in requests { try await Self.respond(request, stream) }
            } catch {
                Self.cancellations.withLockedValue { $0.append("FullDuplexCall") }
                throw error
            }
        }
        router.handleBidiStream(Method.HalfDuplexCall.descriptor) {
            (requests: RequestStream<Grpc_Testing_StreamingOutputCallRequest>, stream: ServerStream<Grpc_Testing_StreamingOutputCallResponse>, _) in
            var all: [Grpc_Testing_StreamingOutputCallRequest] = []
            for try await request in requests { all.append(request) }
            for request in all { try await Self.respond(request, stream) }
        }
        // UnimplementedCall is left out on purpose.
    }

    static func respond(_ request: Grpc_Testing_StreamingOutputCallRequest, _ stream: ServerStream<Grpc_Testing_StreamingOutputCallResponse>) async throws {
        try failIfAsked(request.hasResponseStatus ? request.responseStatus : nil)
        for p in request.responseParameters {
            if p.intervalUs > 0 { try await Task.sleep(for: .microseconds(Int(p.intervalUs))) }
            var response = Grpc_Testing_StreamingOutputCallResponse()
            response.payload.body = Data(count: Int(p.size))
            try await stream.send(response)
        }
    }

    static func failIfAsked(_ status: Grpc_Testing_EchoStatus?) throws {
        guard let status, status.code != 0 else { return }
        let code = Status.Code(rawValue: Int(status.code)).flatMap { RPCError.Code($0) } ?? .unknown
        throw RPCError(code: code, message: status.message)
    }

    /// Echoes `x-grpc-test-echo-initial` as a header and `x-grpc-test-echo-trailing-bin` as a trailer.
    static func echoMetadata() {
        guard let call = GRPCCallContext.current else { return }
        for v in call.requestMetadata[stringValues: "x-grpc-test-echo-initial"] { call.addHeader(v, forKey: "x-grpc-test-echo-initial") }
        for v in call.requestMetadata[binaryValues: "x-grpc-test-echo-trailing-bin"] {
            call.addBinaryTrailer(v, forKey: "x-grpc-test-echo-trailing-bin")
        }
    }
}
