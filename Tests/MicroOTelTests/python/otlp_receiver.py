"""A real OTLP/gRPC receiver for the MicroOTel tests, on the official opentelemetry-proto definitions.

Usage: otlp_receiver.py PORT OUTFILE. Serves the OTLP trace and metrics collector services on
127.0.0.1:PORT and appends one JSON line per span and per metric it receives to OUTFILE.
"""
import json
import sys
import threading
from concurrent import futures

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

lock = threading.Lock()


def value(any_value):
    kind = any_value.WhichOneof("value")
    return str(getattr(any_value, kind)) if kind else ""


def resource_name(resource):
    for kv in resource.attributes:
        if kv.key == "service.name":
            return value(kv.value)
    return ""


def write(out, records):
    with lock, open(out, "a") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")


class Traces(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, out):
        self.out = out

    def Export(self, request, context):
        records = []
        for rs in request.resource_spans:
            service = resource_name(rs.resource)
            for ss in rs.scope_spans:
                for s in ss.spans:
                    records.append({
                        "type": "span", "service": service, "name": s.name, "kind": int(s.kind),
                        "trace_id": s.trace_id.hex(), "span_id": s.span_id.hex(), "parent_span_id": s.parent_span_id.hex(),
                        "attributes": {kv.key: value(kv.value) for kv in s.attributes},
                        "status": int(s.status.code),
                    })
        write(self.out, records)
        return trace_service_pb2.ExportTraceServiceResponse()


class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, out):
        self.out = out

    def Export(self, request, context):
        records = []
        for rm in request.resource_metrics:
            service = resource_name(rm.resource)
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    points = []
                    if m.HasField("sum"):
                        points = [{"value": p.as_double if p.HasField("as_double") else p.as_int,
                                   "attributes": {kv.key: value(kv.value) for kv in p.attributes}} for p in m.sum.data_points]
                    records.append({"type": "metric", "service": service, "name": m.name, "points": points})
        write(self.out, records)
        return metrics_service_pb2.ExportMetricsServiceResponse()


def main():
    port, out = int(sys.argv[1]), sys.argv[2]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(out), server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(out), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    server.wait_for_termination()


if __name__ == "__main__":
    main()
