"""gRPC's interop client cases (doc/interop-test-descriptions.md), run with Python grpcio against a
server: prints `PASS <case>` or `FAIL <case>: <why>` for each, then `DONE`.

usage: interop_client.py [--tls CA.pem [--cert CERT.pem --key KEY.pem]] HOST:PORT [CASE ...]
"""
import queue
import sys
import threading
import time

import grpc

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import protogen  # noqa: E402

protogen.generate()

import empty_pb2  # noqa: E402
import messages_pb2  # noqa: E402
import test_pb2_grpc  # noqa: E402
import helloworld_pb2  # noqa: E402
import helloworld_pb2_grpc  # noqa: E402

TIMEOUT = 10


class Fail(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Fail(why)


def payload(size):
    return messages_pb2.Payload(body=b"\0" * size)


class Pipe:
    """A request iterator fed by the test, one message at a time."""

    def __init__(self):
        self.q = queue.Queue()

    def add(self, item):
        self.q.put(item)

    def close(self):
        self.q.put(None)

    def __iter__(self):
        return self

    def __next__(self):
        item = self.q.get()
        if item is None:
            raise StopIteration()
        return item


def empty_unary(stub, channel):
    r = stub.EmptyCall(empty_pb2.Empty(), timeout=TIMEOUT)
    check(isinstance(r, empty_pb2.Empty), "not an Empty")


def large_unary(stub, channel):
    request_size, response_size = (1 << 20) + 271828, (1 << 20) + 314159
    r = stub.UnaryCall(messages_pb2.SimpleRequest(response_size=response_size, payload=payload(request_size)), timeout=TIMEOUT)
    check(len(r.payload.body) == response_size, f"response payload {len(r.payload.body)} bytes")


def client_streaming(stub, channel):
    sizes = [27182, 8, 1828, 45904]
    r = stub.StreamingInputCall(iter([messages_pb2.StreamingInputCallRequest(payload=payload(s)) for s in sizes]), timeout=TIMEOUT)
    check(r.aggregated_payload_size == 74922, f"aggregated {r.aggregated_payload_size}")


def server_streaming(stub, channel):
    sizes = [31415, 9, 2653, 58979]
    request = messages_pb2.StreamingOutputCallRequest(response_parameters=[messages_pb2.ResponseParameters(size=s) for s in sizes])
    got = [len(r.payload.body) for r in stub.StreamingOutputCall(request, timeout=TIMEOUT)]
    check(got == sizes, f"sizes {got}")


def ping_pong(stub, channel):
    request_sizes, response_sizes = [27182, 8, 1828, 45904], [31415, 9, 2653, 58979]
    pipe = Pipe()
    responses = stub.FullDuplexCall(pipe, timeout=TIMEOUT)
    for req_size, resp_size in zip(request_sizes, response_sizes):
        pipe.add(messages_pb2.StreamingOutputCallRequest(
            response_parameters=[messages_pb2.ResponseParameters(size=resp_size)], payload=payload(req_size)))
        r = next(responses)
        check(len(r.payload.body) == resp_size, f"response of {len(r.payload.body)} bytes, wanted {resp_size}")
    pipe.close()
    check(next(responses, None) is None, "more responses after the last")


def empty_stream(stub, channel):
    got = list(stub.FullDuplexCall(iter([]), timeout=TIMEOUT))
    check(got == [], f"{len(got)} responses")


INITIAL = ("x-grpc-test-echo-initial", "test_initial_metadata_value")
TRAILING = ("x-grpc-test-echo-trailing-bin", b"\x0a\x0b\x0a\x0b\x0a\x0b")


def custom_metadata(stub, channel):
    request = messages_pb2.SimpleRequest(response_size=314159, payload=payload(271828))
    _, call = stub.UnaryCall.with_call(request, metadata=[INITIAL, TRAILING], timeout=TIMEOUT)
    check(INITIAL in list(call.initial_metadata()), f"unary initial metadata {call.initial_metadata()}")
    check(TRAILING in list(call.trailing_metadata()), f"unary trailing metadata {call.trailing_metadata()}")
    request = messages_pb2.StreamingOutputCallRequest(response_parameters=[messages_pb2.ResponseParameters(size=314159)],
                                                      payload=payload(271828))
    call = stub.FullDuplexCall(iter([request]), metadata=[INITIAL, TRAILING], timeout=TIMEOUT)
    list(call)
    check(INITIAL in list(call.initial_metadata()), f"stream initial metadata {call.initial_metadata()}")
    check(TRAILING in list(call.trailing_metadata()), f"stream trailing metadata {call.trailing_metadata()}")


def status_code_and_message(stub, channel):
    status = messages_pb2.EchoStatus(code=2, message="test status message")
    try:
        stub.UnaryCall(messages_pb2.SimpleRequest(response_status=status), timeout=TIMEOUT)
        raise Fail("unary call succeeded")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.UNKNOWN, f"unary code {e.code()}")
        check(e.details() == "test status message", f"unary message {e.details()!r}")
    try:
        list(stub.FullDuplexCall(iter([messages_pb2.StreamingOutputCallRequest(response_status=status)]), timeout=TIMEOUT))
        raise Fail("stream call succeeded")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.UNKNOWN, f"stream code {e.code()}")
        check(e.details() == "test status message", f"stream message {e.details()!r}")


def unimplemented_method(stub, channel):
    try:
        stub.UnimplementedCall(empty_pb2.Empty(), timeout=TIMEOUT)
        raise Fail("call succeeded")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.UNIMPLEMENTED, f"code {e.code()}")


def unimplemented_service(stub, channel):
    try:
        test_pb2_grpc.UnimplementedServiceStub(channel).UnimplementedCall(empty_pb2.Empty(), timeout=TIMEOUT)
        raise Fail("call succeeded")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.UNIMPLEMENTED, f"code {e.code()}")


def cancel_after_begin(stub, channel):
    pipe = Pipe()
    future = stub.StreamingInputCall.future(pipe, timeout=TIMEOUT)
    time.sleep(0.05)
    future.cancel()
    check(future.cancelled(), "not cancelled")
    check(future.code() == grpc.StatusCode.CANCELLED, f"code {future.code()}")


def cancel_after_first_response(stub, channel):
    pipe = Pipe()
    responses = stub.FullDuplexCall(pipe, timeout=TIMEOUT)
    pipe.add(messages_pb2.StreamingOutputCallRequest(response_parameters=[messages_pb2.ResponseParameters(size=31415)],
                                                     payload=payload(27182)))
    r = next(responses)
    check(len(r.payload.body) == 31415, "first response size")
    responses.cancel()
    try:
        next(responses)
        raise Fail("stream went on after cancel")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.CANCELLED, f"code {e.code()}")


def timeout_on_sleeping_server(stub, channel):
    pipe = Pipe()
    responses = stub.FullDuplexCall(pipe, timeout=0.001)
    pipe.add(messages_pb2.StreamingOutputCallRequest(payload=payload(27182)))
    try:
        next(responses)
        raise Fail("got a response")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, f"code {e.code()}")
    pipe.close()


def greeter_paths(stub, channel):
    """The protobuf-first greeter answers on its proto path and on go-micro's alias."""
    for path in ["/helloworld.Greeter/SayHello", "/greeter.Greeter/SayHello"]:
        call = channel.unary_unary(path, request_serializer=helloworld_pb2.HelloRequest.SerializeToString,
                                   response_deserializer=helloworld_pb2.HelloReply.FromString)
        r = call(helloworld_pb2.HelloRequest(name="py"), timeout=TIMEOUT)
        check(r.message == "Hello py", f"{path}: {r.message!r}")
    greeter = helloworld_pb2_grpc.GreeterStub(channel)
    got = [r.message for r in greeter.SayHelloStreamReply(helloworld_pb2.HelloRequest(name="py"), timeout=TIMEOUT)]
    check(got == ["Hello py #0", "Hello py #1", "Hello py #2"], f"stream {got}")
    r = greeter.SayHelloClientStream(iter([helloworld_pb2.HelloRequest(name=n) for n in ["a", "b"]]), timeout=TIMEOUT)
    check(r.message == "Hello a, b", f"client stream {r.message!r}")
    got = [r.message for r in greeter.SayHelloBidiStream(iter([helloworld_pb2.HelloRequest(name=n) for n in ["x", "y"]]), timeout=TIMEOUT)]
    check(got == ["Hello x", "Hello y"], f"bidi {got}")
    try:
        greeter.SayHello(helloworld_pb2.HelloRequest(name=""), timeout=TIMEOUT)
        raise Fail("empty name accepted")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT, f"empty name: code {e.code()}")
        check('"code":400' in e.details() and "name is required" in e.details(), f"empty name: details {e.details()!r}")


def health(stub, channel):
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    h = health_pb2_grpc.HealthStub(channel)
    for service in ["", "greeter", "helloworld.Greeter", "greeter.Greeter"]:
        r = h.Check(health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT)
        check(r.status == health_pb2.HealthCheckResponse.SERVING, f"{service!r}: {r.status}")
    try:
        h.Check(health_pb2.HealthCheckRequest(service="nope"), timeout=TIMEOUT)
        raise Fail("unknown service answered")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.NOT_FOUND, f"unknown service: {e.code()}")
    watch = h.Watch(health_pb2.HealthCheckRequest(service=""), timeout=TIMEOUT)
    first = next(watch)
    check(first.status == health_pb2.HealthCheckResponse.SERVING, f"watch: {first.status}")
    watch.cancel()


def reflection(stub, channel):
    from google.protobuf.descriptor_pool import DescriptorPool
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
    db = ProtoReflectionDescriptorDatabase(channel)
    services = set(db.get_services())
    for s in ["helloworld.Greeter", "greeter.Greeter", "grpc.testing.TestService", "grpc.health.v1.Health",
              "grpc.reflection.v1.ServerReflection"]:
        check(s in services, f"{s} not listed in {sorted(services)}")
    pool = DescriptorPool(db)
    greeter = pool.FindServiceByName("helloworld.Greeter")
    check([m.name for m in greeter.methods] == ["SayHello", "SayHelloStreamReply", "SayHelloClientStream", "SayHelloBidiStream"],
          f"methods {[m.name for m in greeter.methods]}")
    check(greeter.methods[0].input_type.full_name == "helloworld.HelloRequest", "input type")
    alias = pool.FindServiceByName("greeter.Greeter")
    check(alias.methods[0].output_type.full_name == "helloworld.HelloReply", "alias output type")
    simple = pool.FindMessageTypeByName("grpc.testing.SimpleRequest")
    check("response_size" in simple.fields_by_name, "SimpleRequest fields")


CASES = [empty_unary, large_unary, client_streaming, server_streaming, ping_pong, empty_stream, custom_metadata,
         status_code_and_message, unimplemented_method, unimplemented_service, cancel_after_begin,
         cancel_after_first_response, timeout_on_sleeping_server, greeter_paths, health, reflection]


def channel_for(args):
    if args and args[0] == "--tls":
        root = open(args[1], "rb").read()
        args = args[2:]
        cert = key = None
        if args and args[0] == "--cert":
            cert, key = open(args[1], "rb").read(), open(args[3], "rb").read()
            args = args[4:]
        creds = grpc.ssl_channel_credentials(root_certificates=root, private_key=key, certificate_chain=cert)
        return grpc.secure_channel(args[0], creds), args[1:]
    return grpc.insecure_channel(args[0]), args[1:]


def main():
    channel, wanted = channel_for(sys.argv[1:])
    with channel:
        grpc.channel_ready_future(channel).result(timeout=TIMEOUT)
        stub = test_pb2_grpc.TestServiceStub(channel)
        for case in CASES:
            if wanted and case.__name__ not in wanted:
                continue
            try:
                case(stub, channel)
                print(f"PASS {case.__name__}", flush=True)
            except Exception as e:  # noqa: BLE001 - report every failure and go on
                print(f"FAIL {case.__name__}: {type(e).__name__}: {e}", flush=True)
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
