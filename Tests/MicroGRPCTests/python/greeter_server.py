"""A Python grpcio helloworld.Greeter server for the Swift client to call: prints `PORT <n>` once
serving on 127.0.0.1 and serves until stdin closes.

SayHello: `error` fails with INVALID_ARGUMENT, `sleep` answers after 3 s, `big:<n>` answers n bytes;
metadata `x-echo` comes back as header `x-echo` and trailer `x-echo-trailer`; the reply names the
`micro-from-service` and `timeout` metadata and whether grpc-timeout arrived.

Serves server reflection (grpcio-reflection: grpc.reflection.v1alpha only) unless started with
`--no-reflection`.
"""
import sys
import threading
import time
from concurrent import futures

import grpc
from grpc_reflection.v1alpha import reflection

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import protogen  # noqa: E402

protogen.generate()

import helloworld_pb2  # noqa: E402
import helloworld_pb2_grpc  # noqa: E402


class Greeter(helloworld_pb2_grpc.GreeterServicer):
    def SayHello(self, request, context):
        md = dict(context.invocation_metadata())
        if "x-echo" in md:
            context.send_initial_metadata([("x-echo", md["x-echo"])])
            context.set_trailing_metadata([("x-echo-trailer", md["x-echo"])])
        if request.name == "error":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad name")
        if request.name == "sleep":
            time.sleep(3)
        if request.name.startswith("big:"):
            return helloworld_pb2.HelloReply(message="x" * int(request.name[4:]))
        left = context.time_remaining()
        deadline = "none" if left is None else f"{left:.1f}"
        return helloworld_pb2.HelloReply(message=f"Hello {request.name} from python (deadline {deadline})")

    def SayHelloStreamReply(self, request, context):
        for i in range(3):
            yield helloworld_pb2.HelloReply(message=f"Hello {request.name} #{i}")

    def SayHelloClientStream(self, request_iterator, context):
        return helloworld_pb2.HelloReply(message="Hello " + ", ".join(r.name for r in request_iterator))

    def SayHelloBidiStream(self, request_iterator, context):
        for r in request_iterator:
            yield helloworld_pb2.HelloReply(message=f"Hello {r.name}")


def main():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    helloworld_pb2_grpc.add_GreeterServicer_to_server(Greeter(), server)
    if "--no-reflection" not in sys.argv[1:]:
        names = (helloworld_pb2.DESCRIPTOR.services_by_name["Greeter"].full_name, reflection.SERVICE_NAME)
        reflection.enable_server_reflection(names, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"PORT {port}", flush=True)
    sys.stdin.read()
    server.stop(0)


if __name__ == "__main__":
    main()
