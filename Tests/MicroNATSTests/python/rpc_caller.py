"""Calls a Swift Micro service over the NATS transport with nats-py alone: a request with go-micro's
headers as NATS headers. Prints {"headers": {...}, "body": "..."} of each answer as a JSON line:
first a good call, then one to an unknown endpoint.
"""
import asyncio
import json
import sys

import nats


async def main(url, subject):
    nc = await nats.connect(url)
    for endpoint in ("Test.Hello", "Nope.Missing"):
        headers = {
            "Micro-Service": "test",
            "Micro-Endpoint": endpoint,
            "Micro-Method": endpoint,
            "Content-Type": "application/json",
            "Micro-Id": "py-call-1",
            "Timeout": "5000000000",
            "X-Trace": "py",
        }
        msg = await nc.request(subject, json.dumps({"name": "python"}).encode(), timeout=5, headers=headers)
        print(json.dumps({"headers": msg.headers or {}, "body": msg.data.decode()}), flush=True)
    await nc.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2])))
