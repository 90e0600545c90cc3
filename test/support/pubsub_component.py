"""A pubsub service that refuses, as an external component (XEP-0114) on the test Prosody
(slixmpp 1.8.3's ComponentXMPP; run with /usr/bin/python3).

    pubsub_component.py JID SECRET --server 127.0.0.1:PORT [--refuse-field VAR] [--hold]

It answers every XEP-0060 publish with `resource-constraint` and the text "Unknown field", as
ejabberd 23.01 answers a publish-option it does not take. With --refuse-field it refuses only
publishes whose publish-options carry that field, and accepts the others. With --hold it answers
nothing until a line arrives on stdin, then answers every publish held so far, and from then on
each one as it comes.

Prints one JSON line when connected ({"ready": true}) and one per publish it receives:
{"id", "from", "options": [field vars]}. Runs until killed.
"""
import argparse
import json
import sys

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

PUBSUB = "http://jabber.org/protocol/pubsub"
DATA = "jabber:x:data"


class RefusingService(slixmpp.ComponentXMPP):
    def __init__(self, args):
        host, _, port = args.server.rpartition(":")
        super().__init__(args.jid, args.secret, host, int(port))
        self.args = args
        self.holding = args.hold
        self.held = []
        self.add_event_handler("session_start", lambda _: emit({"ready": True}))
        path = f"{{{self.default_ns}}}iq/{{{PUBSUB}}}pubsub/{{{PUBSUB}}}publish"
        self.register_handler(Callback("publish", MatchXPath(path), self.on_publish))
        if args.hold:
            self.loop.add_reader(sys.stdin.fileno(), self.release)

    def on_publish(self, iq):
        fields = iq.xml.findall(f"{{{PUBSUB}}}pubsub/{{{PUBSUB}}}publish-options/{{{DATA}}}x/{{{DATA}}}field")
        options = [f.get("var") for f in fields if f.get("var") != "FORM_TYPE"]
        emit({"id": iq["id"], "from": str(iq["from"]), "options": options})
        if self.holding:
            self.held.append((iq, options))
        else:
            self.answer(iq, options)

    def release(self):
        sys.stdin.readline()
        self.loop.remove_reader(sys.stdin.fileno())
        self.holding = False
        held, self.held = self.held, []
        for iq, options in held:
            self.answer(iq, options)

    def answer(self, iq, options):
        refused = self.args.refuse_field is None or self.args.refuse_field in options
        reply = iq.reply(clear=True)
        if refused:
            reply["type"] = "error"
            reply["error"]["type"] = "wait"
            reply["error"]["condition"] = "resource-constraint"
            reply["error"]["text"] = "Unknown field"
        reply.send()


def emit(line):
    print(json.dumps(line), flush=True)


def main():
    p = argparse.ArgumentParser(description="A pubsub component that refuses publishes.")
    p.add_argument("jid")
    p.add_argument("secret")
    p.add_argument("--server", required=True, help="HOST:PORT of the component port")
    p.add_argument("--refuse-field")
    p.add_argument("--hold", action="store_true")
    args = p.parse_args()
    xmpp = RefusingService(args)
    xmpp.connect()
    xmpp.loop.run_forever()


if __name__ == "__main__":
    main()
