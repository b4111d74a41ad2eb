#!/usr/bin/env python3
"""Turn a recorder capture (connN.c2s / connN.s2c / connN.log) into a per-HTTP-message
transcript, ordered by the arrival time of each message's first byte.

usage: transcript.py CAPTURE_DIR
  -> writes CAPTURE_DIR/transcript.txt (human readable, escaped) and prints it
  -> writes CAPTURE_DIR/messages.json: ordered list of events
     {"conn": "conn0", "t": seconds, "dir": "C->S"|"S->C", "start": off, "end": off,
      "data_base64": exact bytes of the HTTP message}  or  {"conn", "t", "dir", "event": "EOF ..."}
"""
import base64
import json
import glob
import os
import re
import sys

LOG_RE = re.compile(r'^\[\+\s*([0-9.]+)s\] (C->S|S->C) (\d+) bytes @(\d+)$')
EV_RE = re.compile(r'^\[\+\s*([0-9.]+)s\] (C->S|S->C) (EOF.*|read error.*|write to peer failed.*)$')


def esc(b: bytes) -> str:
    out = []
    for c in b:
        if c == 13:
            out.append('\\r')
        elif c == 10:
            out.append('\\n')
        elif c == 9:
            out.append('\\t')
        elif c == 92:
            out.append('\\\\')
        elif c < 32 or c >= 127:
            out.append('\\x%02x' % c)
        else:
            out.append(chr(c))
    return ''.join(out)


def split_http(data: bytes):
    """yield (start, end, head, body, note) for each HTTP/1.1 message in data"""
    i = 0
    while i < len(data):
        j = data.find(b'\r\n\r\n', i)
        if j < 0:
            yield i, len(data), data[i:], b'', 'TRUNCATED (no end of header)'
            return
        head = data[i:j + 4]
        hs = head.decode('latin-1')
        m = re.search(r'\r\nContent-Length: (\d+)\r\n', hs)
        k = j + 4
        if m:
            n = int(m.group(1))
            body = data[k:k + n]
            note = '' if len(body) == n else 'TRUNCATED body'
            yield i, min(k + n, len(data)), head, body, note
            i = k + n
        elif re.search(r'\r\nTransfer-Encoding: chunked\r\n', hs):
            body = b''
            p = k
            while True:
                e = data.find(b'\r\n', p)
                if e < 0:
                    break
                size = int(data[p:e].split(b';')[0], 16)
                p = e + 2
                if size == 0:
                    # trailers end with CRLF
                    t = data.find(b'\r\n', p)
                    p = t + 2
                    break
                body += data[p:p + size]
                p += size + 2
            yield i, p, head, data[k:p], 'chunked, decoded body=%r' % body
            i = p
        else:
            yield i, k, head, b'', ''
            i = k


def main(d):
    out = []
    events_json = []
    for c2s in sorted(glob.glob(os.path.join(d, 'conn*.c2s')), key=lambda p: int(re.search(r'conn(\d+)', p).group(1))):
        base = c2s[:-4]
        name = os.path.basename(base)
        chunks = {'C->S': [], 'S->C': []}
        events = []
        for line in open(base + '.log', encoding='utf-8', errors='replace'):
            line = line.rstrip('\n')
            m = LOG_RE.match(line)
            if m:
                chunks[m.group(2)].append((float(m.group(1)), int(m.group(4)), int(m.group(3))))
                continue
            m = EV_RE.match(line)
            if m:
                events.append((float(m.group(1)), m.group(2), m.group(3)))

        def t_of(direction, off):
            for t, o, n in chunks[direction]:
                if o <= off < o + n:
                    return t
            return float('inf')

        items = []
        for direction, ext in (('C->S', '.c2s'), ('S->C', '.s2c')):
            data = open(base + ext, 'rb').read()
            for s, e, head, body, note in split_http(data):
                items.append((t_of(direction, s), direction, s, e, head, body, note))
        for t, direction, what in events:
            items.append((t, direction, None, None, what, None, None))
        items.sort(key=lambda x: (x[0], 0 if x[2] is not None else 1))
        out.append('=== %s' % name)
        for t, direction, s, e, head, body, note in items:
            if s is None:
                out.append('[+%.6fs] %s %s' % (t, direction, head))
                events_json.append({'conn': name, 't': t, 'dir': direction, 'event': head})
                continue
            events_json.append({'conn': name, 't': t, 'dir': direction, 'start': s, 'end': e,
                                'data_base64': base64.b64encode(head + body).decode()})
            first = head.split(b'\r\n', 1)[0].decode('latin-1')
            out.append('[+%.6fs] %s bytes %d..%d  %s%s' % (t, direction, s, e, first, ('   [' + note + ']') if note else ''))
            out.append('    ' + esc(head + body))
    text = '\n'.join(out) + '\n'
    open(os.path.join(d, 'transcript.txt'), 'w').write(text)
    with open(os.path.join(d, 'messages.json'), 'w') as f:
        json.dump(events_json, f, indent=1)
    sys.stdout.write(text)


if __name__ == '__main__':
    main(sys.argv[1])
