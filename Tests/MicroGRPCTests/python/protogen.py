"""Generates Python stubs for the interop protos into a temporary folder and makes them importable.

gRPC's test protos live in package grpc.testing, which would clash with the grpcio package's own
`grpc` module, so the generated modules are imported by their bare names (test_pb2, ...).
"""
import os
import pathlib
import re
import sys
import tempfile

from grpc_tools import protoc

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[2]  # the package root
TEST_PROTOS = HERE / "protos"
MICRO_PROTOS = ROOT / "Protos" / "MicroGRPC"


def generate():
    out = pathlib.Path(tempfile.mkdtemp(prefix="micro-grpc-py-"))
    wkt = pathlib.Path(protoc.__file__).parent / "_proto"
    files = ["grpc/testing/empty.proto", "grpc/testing/messages.proto", "grpc/testing/test.proto"]
    args = ["protoc", f"-I{TEST_PROTOS}", f"-I{wkt}", f"--python_out={out}", f"--grpc_python_out={out}"] + files
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed for the interop protos")
    args = ["protoc", f"-I{MICRO_PROTOS}", f"-I{wkt}", f"--python_out={out}", f"--grpc_python_out={out}", "helloworld.proto"]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed for helloworld.proto")
    testing = out / "grpc" / "testing"
    for f in testing.glob("*.py"):
        text = f.read_text()
        text = re.sub(r"from grpc\.testing import (\w+)", r"import \1", text)
        f.write_text(text)
    sys.path.insert(0, str(testing))
    sys.path.insert(0, str(out))
    return out
