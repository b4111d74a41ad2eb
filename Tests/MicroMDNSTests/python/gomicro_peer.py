"""A third-party mDNS peer speaking go-micro's registry format, built with dnspython.

Run inside a network namespace (never in the machine's own: multicast would leave through eth0).

  announce SERVICE VERSION NODE_ID HOST PORT [--goodbye] [--respond SECONDS]
      Multicasts go-micro's records of one node (PTR, SRV, TXT = hex(zlib(JSON)), A) from port 5353,
      three times; with --respond keeps answering queries for SECONDS (legacy unicast, as go-micro's
      server does: to the querier's address, question echoed). --goodbye sends them with TTL 0.
  query SERVICE [--timeout SECONDS]
      Asks as go-micro's client does (PTR SERVICE.micro. from an ephemeral port) and prints one JSON
      line per node found: {"id","address","service","version","metadata","endpoints"}.
  list [--timeout SECONDS]
      Asks for _services.micro. and prints the service names, one JSON list.
"""
import argparse
import json
import select
import socket
import struct
import sys
import time
import zlib

import dns.flags
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset

GROUP = "224.0.0.251"
PORT = 5353
DOMAIN = "micro."

ENDPOINTS = [
    {"name": "Py.Hello", "request": {"name": "Req", "type": "Req", "values": [{"name": "name", "type": "string", "values": None}]},
     "response": {"name": "Rsp", "type": "Rsp", "values": None}, "metadata": {"stream": "false"}},
]


def encode_txt(service, version, metadata):
    payload = json.dumps({"Metadata": metadata, "Service": service, "Version": version, "Endpoints": ENDPOINTS},
                         separators=(",", ":")).encode()
    encoded = zlib.compress(payload).hex()
    return [encoded[i:i + 255] for i in range(0, len(encoded), 255)]


def decode_txt(strings):
    return json.loads(zlib.decompress(bytes.fromhex("".join(strings))))


def records(service, version, node_id, host, port, ttl):
    svc = f"{service}.{DOMAIN}"
    inst = f"{node_id}.{svc}"
    hostname = "pyhost."
    txt = encode_txt(service, version, {"protocol": "mucp", "origin": "python", "zone": "z9"})
    quoted = " ".join('"%s"' % s for s in txt)
    answers = [
        dns.rrset.from_text(svc, ttl, "IN", "PTR", inst),
        dns.rrset.from_text(inst, ttl, "IN", "SRV", f"10 1 {port} {hostname}"),
        dns.rrset.from_text(inst, ttl, "IN", "TXT", quoted),
        dns.rrset.from_text(hostname, ttl, "IN", "A", host),
    ]
    wildcard_inst = f"{service}._services.{DOMAIN}"
    wildcard = [
        dns.rrset.from_text(f"_services.{DOMAIN}", ttl, "IN", "PTR", wildcard_inst),
        dns.rrset.from_text(wildcard_inst, ttl, "IN", "SRV", f"10 1 9999 {hostname}"),
        dns.rrset.from_text(wildcard_inst, ttl, "IN", "TXT", '""'),
        dns.rrset.from_text(hostname, ttl, "IN", "A", "0.0.0.0"),
    ]
    return svc, inst, answers, wildcard


def response(answers, query=None):
    m = dns.message.Message(id=query.id if query is not None else 0)
    m.flags = dns.flags.QR | dns.flags.AA
    if query is not None:
        m.question = list(query.question)
    m.answer = list(answers)
    return m.to_wire()


def mdns_socket(bind_port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    s.bind(("0.0.0.0", bind_port))
    if bind_port == PORT:
        mreq = struct.pack("4s4s", socket.inet_aton(GROUP), socket.inet_aton("127.0.0.1"))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    return s


def announce(args):
    ttl = 0 if args.goodbye else args.ttl
    svc, inst, answers, wildcard = records(args.service, args.version, args.node_id, args.host, args.port, ttl)
    s = mdns_socket(PORT)
    for i in range(3):
        s.sendto(response(answers), (GROUP, PORT))
        s.sendto(response(wildcard), (GROUP, PORT))
        time.sleep(0.2)
    print("announced", flush=True)
    deadline = time.time() + args.respond
    answered = 0
    while time.time() < deadline:
        ready, _, _ = select.select([s], [], [], max(0.0, min(0.2, deadline - time.time())))
        if not ready:
            continue
        data, source = s.recvfrom(65536)
        try:
            q = dns.message.from_wire(data)
        except Exception:
            continue
        if q.flags & dns.flags.QR or not q.question:
            continue
        name = q.question[0].name.to_text()
        if name.lower() == svc.lower() or name.lower() == inst.lower():
            s.sendto(response(answers, q), source)
            answered += 1
        elif name.lower() == f"_services.{DOMAIN}":
            s.sendto(response(wildcard, q), source)
            answered += 1
    print(json.dumps({"answered": answered}), flush=True)


def ask(name, timeout):
    """go-micro's client: a PTR question from an ephemeral port; keeps responses that echo it."""
    s = mdns_socket(0)
    q = dns.message.make_query(name, dns.rdatatype.PTR)
    q.flags = 0
    q.id = 0
    s.sendto(q.to_wire(), (GROUP, PORT))
    deadline = time.time() + timeout
    messages = []
    while time.time() < deadline:
        ready, _, _ = select.select([s], [], [], max(0.0, deadline - time.time()))
        if not ready:
            break
        data, source = s.recvfrom(65536)
        try:
            m = dns.message.from_wire(data)
        except Exception:
            continue
        if not m.question or m.question[0].name.to_text().lower() != name.lower():
            continue  # go-micro discards answers without its question
        messages.append(m)
    return messages


def query(args):
    svc = f"{args.service}.{DOMAIN}"
    found = {}
    for m in ask(svc, args.timeout):
        # go-micro's messageToEntry: everything of one node is in one packet.
        entries, alias = {}, {}
        for rr in list(m.answer) + list(m.additional):
            for rd in rr:
                owner = rr.name.to_text()
                if rr.rdtype == dns.rdatatype.PTR:
                    entries.setdefault(rd.target.to_text(), {})
                elif rr.rdtype == dns.rdatatype.SRV:
                    e = entries.setdefault(owner, {})
                    e["port"] = rd.port
                    alias[rd.target.to_text()] = owner
                elif rr.rdtype == dns.rdatatype.TXT:
                    entries.setdefault(owner, {})["txt"] = [s.decode() for s in rd.strings]
                    entries[owner]["ttl"] = rr.ttl
                elif rr.rdtype == dns.rdatatype.A:
                    entries.setdefault(alias.get(owner, owner), {})["a"] = rd.address
        for name, e in entries.items():
            if "port" in e and "txt" in e and "a" in e and e.get("ttl", 0) > 0 and name.endswith("." + svc):
                txt = decode_txt(e["txt"])
                found[name] = {"id": name[: -len("." + svc)], "address": f'{e["a"]}:{e["port"]}', "service": txt["Service"],
                               "version": txt["Version"], "metadata": txt["Metadata"], "endpoints": txt["Endpoints"]}
    for node in found.values():
        print(json.dumps(node), flush=True)


def list_services(args):
    suffix = f"._services.{DOMAIN}"
    names = set()
    for m in ask(f"_services.{DOMAIN}", args.timeout):
        for rr in list(m.answer) + list(m.additional):
            if rr.rdtype == dns.rdatatype.PTR and rr.ttl > 0:
                for rd in rr:
                    t = rd.target.to_text()
                    if t.endswith(suffix):
                        names.add(t[: -len(suffix)])
    print(json.dumps(sorted(names)), flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("announce")
    a.add_argument("service")
    a.add_argument("version")
    a.add_argument("node_id")
    a.add_argument("host")
    a.add_argument("port", type=int)
    a.add_argument("--ttl", type=int, default=120)
    a.add_argument("--goodbye", action="store_true")
    a.add_argument("--respond", type=float, default=0)
    q = sub.add_parser("query")
    q.add_argument("service")
    q.add_argument("--timeout", type=float, default=1.0)
    l = sub.add_parser("list")
    l.add_argument("--timeout", type=float, default=1.0)
    args = p.parse_args()
    {"announce": announce, "query": query, "list": list_services}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
