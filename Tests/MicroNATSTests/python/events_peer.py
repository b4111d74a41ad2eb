"""A nats-py peer of the JetStream event stream, reading and writing events in its message layout.

consume URL TOPIC COUNT: a durable pull consumer "py" on micro.events.TOPIC fetches and acks COUNT
    messages; prints a JSON list of {"subject", "payload", "headers"}.
publish URL TOPIC: publishes two events (ids py-1 and py-2, the second with metadata) with the
    event headers, each awaiting the stream's acknowledgement; prints their sequences as JSON.
"""
import asyncio
import json
import sys
import time
from email.header import decode_header

import nats


def text(value):
    """A header value as text (the email parser nats-py uses wraps non-ASCII values)."""
    if isinstance(value, str):
        return value
    return "".join(part.decode("utf-8") if isinstance(part, bytes) else part for part, _ in decode_header(value))


async def main(mode, url, topic, rest):
    nc = await nats.connect(url)
    js = nc.jetstream()
    subject = "micro.events." + topic
    if mode == "consume":
        count = int(rest[0])
        sub = await js.pull_subscribe(subject, durable="py", stream="MICRO_EVENTS")
        out = []
        while len(out) < count:
            for msg in await sub.fetch(count - len(out), timeout=10):
                out.append({"subject": msg.subject, "payload": msg.data.decode(),
                            "headers": {k: text(v) for k, v in (msg.headers or {}).items()}})
                await msg.ack()
        print(json.dumps(out))
    else:
        sequences = []
        for n, metadata in [(1, None), (2, {"source": "python"})]:
            headers = {"Nats-Msg-Id": f"{topic}/py-{n}", "Micro-Event-Id": f"py-{n}", "Micro-Event-Time": str(int(time.time() * 1000))}
            if metadata:
                headers["Micro-Event-Metadata"] = json.dumps(metadata)
            ack = await js.publish(subject, f"from python {n}".encode(), headers=headers, stream="MICRO_EVENTS")
            sequences.append(ack.seq)
        print(json.dumps(sequences))
    await nc.close()


asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]))
