"""A Python publisher in go-micro's NATS broker format.

Publishes COUNT messages on TOPIC, each the JSON {"Header": {...}, "Body": "<base64>"} a go-micro
service publishes: headers Micro-Topic, Content-Type, Micro-Id and one of the caller's metadata.
"""
import asyncio
import base64
import json
import sys

import nats


async def main(url, topic, count):
    nc = await nats.connect(url)
    for n in range(count):
        body = json.dumps({"n": n, "from": "python"}).encode()
        envelope = {
            "Header": {"Micro-Topic": topic, "Content-Type": "application/json", "Micro-Id": f"py-{n}", "X-Origin": "nats-py"},
            "Body": base64.b64encode(body).decode(),
        }
        await nc.publish(topic, json.dumps(envelope).encode())
    await nc.flush()
    await nc.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
