"""A nats-py peer on a key-value bucket a Swift NATSStore wrote, as nats.go sees it.

read URL BUCKET KEY...: prints one JSON object: "keys" (kv.keys()), and for each KEY its
    "value" (UTF-8), "revision" and "operation" (kv.get, a direct get), plus the headers of its
    last message read with STREAM.MSG.GET.
write URL BUCKET: puts "py-plain" = "hello", creates "py-counter" = "1" and updates it to "2" with
    the revision create returned, deletes "a=20b=2Ec"; prints the revisions as JSON.
"""
import asyncio
import json
import sys
from email.header import decode_header

import nats


def text(value):
    """A header value as text (the email parser nats-py uses wraps non-ASCII values)."""
    if isinstance(value, str):
        return value
    return "".join(part.decode("utf-8") if isinstance(part, bytes) else part for part, _ in decode_header(value))


async def main(mode, url, bucket, keys):
    nc = await nats.connect(url)
    js = nc.jetstream()
    kv = await js.key_value(bucket)
    out = {}
    if mode == "read":
        out["keys"] = sorted(await kv.keys())
        for key in keys:
            entry = await kv.get(key)
            msg = await js.get_msg(f"KV_{bucket}", subject=f"$KV.{bucket}.{key}")
            out[key] = {
                "value": entry.value.decode(),
                "revision": entry.revision,
                "operation": entry.operation,
                "headers": {name: text(value) for name, value in (msg.headers or {}).items()},
                "seq": msg.seq,
            }
    else:
        out["plain"] = await kv.put("py-plain", b"hello")
        created = await kv.create("py-counter", b"1")
        out["created"] = created
        out["updated"] = await kv.update("py-counter", b"2", last=created)
        await kv.delete("a=20b=2Ec")
    print(json.dumps(out))
    await nc.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])))
