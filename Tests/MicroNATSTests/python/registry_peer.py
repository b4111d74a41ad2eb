"""A Python process behaving like a go-micro node on the NATS registry.

- Answers queries on micro.nats.query as go-micro's registry does: for {"Action": "get"} of its own
  service and for {"Action": "list"}, one reply per service, the Service JSON.
- Announces itself on micro.nats.watch: {"Service": {...}, "Action": "create"} (no TTL, as Go).
- Queries for SWIFT_SERVICE like a Go node (publish with a reply inbox, collect for 300 ms) and
  prints the answers as one JSON line {"answers": [...]}.
- Tells the test it is ready (a message on READY) and serves until a message on STOP (or 20 s).
"""
import asyncio
import json
import sys

import nats

SERVICE = {
    "name": "pysvc",
    "version": "0.1.0",
    "metadata": {"lang": "python"},
    "endpoints": [{"name": "Py.Call", "request": {"name": "Req", "type": "Req"}, "response": None, "metadata": {"stream": "false"}}],
    "nodes": [{"id": "pysvc-1", "address": "10.1.2.3:4567", "metadata": {"protocol": "mucp", "transport": "http"}}],
}


async def main(url, swift_service, ready, stop):
    nc = await nats.connect(url)

    async def answer(msg):
        try:
            query = json.loads(msg.data)
        except ValueError:
            return
        action = query.get("Action")
        service = query.get("Service") or {}
        if action == "list" or (action == "get" and service.get("name") == SERVICE["name"]):
            await nc.publish(msg.reply, json.dumps(SERVICE).encode())

    await nc.subscribe("micro.nats.query", cb=answer)
    await nc.flush()
    await nc.publish("micro.nats.watch", json.dumps({"Service": SERVICE, "Action": "create"}).encode())

    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    await nc.publish("micro.nats.query", json.dumps({"Service": {"name": swift_service}, "Action": "get"}).encode(), reply=inbox)
    answers = []
    loop = asyncio.get_running_loop()
    end = loop.time() + 0.3
    while True:
        left = end - loop.time()
        if left <= 0:
            break
        try:
            msg = await sub.next_msg(timeout=left)
        except nats.errors.TimeoutError:
            break
        answers.append(json.loads(msg.data))
    print(json.dumps({"answers": answers}), flush=True)

    stopped = asyncio.Event()

    async def on_stop(_):
        stopped.set()

    await nc.subscribe(stop, cb=on_stop)
    await nc.flush()
    await nc.publish(ready, b"ready")
    await nc.flush()
    try:
        await asyncio.wait_for(stopped.wait(), timeout=20)
    except asyncio.TimeoutError:
        pass
    await nc.publish("micro.nats.watch", json.dumps({"Service": SERVICE, "Action": "delete"}).encode())
    await nc.flush()
    await nc.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4])))
