"""A Python subscriber of go-micro's NATS broker format.

Subscribes TOPIC, tells the test it is ready (a message on READY), then decodes COUNT messages:
the payload is JSON {"Header": {...}, "Body": "<base64>"}; prints each as a JSON line
{"subject", "header", "body"} with the body base64-decoded to text. Exits 0 when all arrived,
1 on a malformed message, 2 on timeout.
"""
import asyncio
import base64
import json
import sys

import nats


async def main(url, topic, count, ready):
    nc = await nats.connect(url)
    sub = await nc.subscribe(topic)
    await nc.flush()
    await nc.publish(ready, b"ready")
    await nc.flush()
    try:
        for _ in range(count):
            msg = await sub.next_msg(timeout=10)
            envelope = json.loads(msg.data)
            if set(envelope.keys()) != {"Header", "Body"}:
                print("bad envelope keys", sorted(envelope.keys()), file=sys.stderr)
                return 1
            body = base64.b64decode(envelope["Body"], validate=True).decode()
            print(json.dumps({"subject": msg.subject, "header": envelope["Header"], "body": body}), flush=True)
    except nats.errors.TimeoutError:
        print("timed out", file=sys.stderr)
        return 2
    finally:
        await nc.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])))
