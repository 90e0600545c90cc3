"""Independent XMPP client for integration tests (slixmpp 1.8.3; run with /usr/bin/python3).

    xmpp_probe.py JID PASSWORD --server 127.0.0.1:PORT --ca CAFILE
                  [--send TO TEXT]... [--expect N] [--timeout S] [--presence]

Logs in (STARTTLS, server certificate checked against CAFILE), sends presence, prints "READY
<full jid>" on stderr once the server applied it, then sends each --send as a chat message with
id probe-<i>, thread probe-thread-<i> and a XEP-0184 receipt request. Prints ONE JSON line per
received message on stdout (with --presence also one per presence from other accounts).
Exit: 0 after N lines, 1 on timeout or connection failure, 2 on authentication failure.

<fields> are read with slixmpp's xep_0323 stanza classes as its plugin's Fields handler does
(the handler itself raises KeyError for a seqnr it did not request); ElementTree is the
fallback, and "fields_parser" says which one produced "fields".
"""
import json
import sys

import slixmpp
from probe_base import Probe, main
from slixmpp.plugins.xep_0323 import stanza as _sensordata  # noqa: F401  registers <fields>
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

SD = "urn:xmpp:iot:sensordata"
READING = "urn:xmpp-iot-agent:reading:1"
STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"


def fields_via_slixmpp(msg):
    """Same extraction as slixmpp's XEP_0323._handle_event_fields, minus the session lookup."""
    blocks = []
    for node in msg["fields"]["nodes"]:
        for ts in node["timestamps"]:
            fields = []
            for d in ts["datas"]:
                f = {"name": d["name"], "typename": d._get_typename(), "value": d["value"]}
                if d["unit"] != "":
                    f["unit"] = d["unit"]
                if d["dataType"] != "":
                    f["dataType"] = d["dataType"]
                if d._get_flags():
                    f["flags"] = d._get_flags()
                fields.append(f)
            blocks.append({"nodeId": node["nodeId"], "timestamp": ts["value"], "fields": fields})
    return blocks


def fields_via_etree(el):
    keep = ("name", "value", "unit", "dataType")
    return [{"nodeId": node.get("nodeId"), "timestamp": ts.get("value"),
             "fields": [{"typename": d.tag.split("}")[-1], **{k: v for k, v in d.attrib.items() if k in keep}}
                        for d in ts]}
            for node in el.findall(f"{{{SD}}}node") for ts in node.findall(f"{{{SD}}}timestamp")]


def error_of(msg):
    if msg["type"] != "error":
        return None
    # slixmpp knows only RFC 3920's conditions ('' for policy-violation): read the wire instead.
    tags = [c.tag.split("}")[1] for c in msg["error"].xml if c.tag.startswith(f"{{{STANZAS}}}")]
    condition = next((t for t in tags if t != "text"), None)
    return {"type": msg["error"]["type"], "condition": condition, "text": msg["error"]["text"] or None}


class ChatProbe(Probe):
    def __init__(self, args):
        super().__init__(args)
        self.seen = 0
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0184")  # parses <received/>, acks receipt requests
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("failed_all_auth", lambda _: self.finish(2, "authentication failed"))
        self.register_handler(Callback("probe message", MatchXPath("{jabber:client}message"), self.on_message))
        if args.presence:
            self.add_event_handler("presence", self.on_presence)

    async def start(self, _event):
        self.send_presence()
        # The server handles a session's stanzas in order: once the roster arrives, our presence
        # is in effect and messages to our bare JID will be routed here.
        await self.get_roster()
        print(f"READY {self.boundjid.full}", file=sys.stderr, flush=True)
        for i, (to, text) in enumerate(self.args.send or [], start=1):
            msg = self.make_message(mto=to, mbody=text, mtype="chat")
            msg["id"] = f"probe-{i}"
            msg["thread"] = f"probe-thread-{i}"
            msg["request_receipt"] = True
            msg.send()

    def emit(self, record):
        print(json.dumps(record, ensure_ascii=False), flush=True)
        self.seen += 1
        if self.seen >= self.args.expect:
            self.finish(0)

    def on_message(self, msg):
        fields, parser = None, None
        el = msg.xml.find(f"{{{SD}}}fields")
        if el is not None:
            try:
                fields, parser = fields_via_slixmpp(msg), "slixmpp"
            except Exception as e:  # report, then fall back: the test asserts on the parser
                print(f"slixmpp could not parse <fields>: {e!r}", file=sys.stderr, flush=True)
            if not fields:
                fields, parser = fields_via_etree(el), "etree"
        ids = [{"device": r.get("device"), "boot": r.get("boot"), "seq": r.get("seq")}
               for r in msg.xml.findall(f"{{{READING}}}reading")]
        self.emit({"from": str(msg["from"]), "id": msg["id"] or None, "type": msg["type"],
                   "body": msg["body"] or None, "thread": msg["thread"] or None,
                   "receipt": msg["receipt"] or None, "fields": fields, "fields_parser": parser,
                   "reading_ids": ids, "error": error_of(msg)})

    def on_presence(self, pres):
        if pres["from"].bare != self.boundjid.bare:  # the server echoes our own presence
            kind = "available" if pres["type"] in pres.showtypes else pres["type"]  # type, or show
            self.emit({"presence": kind, "from": str(pres["from"]),
                       "show": pres["show"] or None, "status": pres["status"] or None})


def arguments(p):
    p.add_argument("--send", nargs=2, action="append", metavar=("TO", "TEXT"))
    p.add_argument("--expect", type=int, default=1, help="exit 0 after this many lines")
    p.add_argument("--presence", action="store_true", help="also report others' presence")


if __name__ == "__main__":
    main(ChatProbe, __doc__.splitlines()[0], arguments)
