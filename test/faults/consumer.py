"""Independent telemetry consumer for the fault-injection suite (slixmpp 1.8.3, /usr/bin/python3).

    consumer.py JID PASSWORD --server 127.0.0.1:PORT --ca CAFILE --out FILE

Logs in (STARTTLS, certificate checked against CAFILE), sends presence and prints "READY <jid>"
on stderr at every session start. Appends ONE JSON line per <reading> element received to FILE,
flushed at once:

    {"device": "...", "boot": "...", "seq": 12, "delayed": false, "offline": false,
     "t": 1700000000.123, "id": "r-..."}

"delayed": the message carries the agent's own XEP-0203 <delay> (sent late, during catch-up);
"offline": it carries the server's <delay from='DOMAIN'> (stored by mod_offline while this
consumer had no session). A message can have both.

After any disconnect or failed connection attempt it reconnects every RETRY seconds, forever,
until SIGTERM or SIGINT (exit 0). No stream management: what the server routed to a session it
closes gracefully is flushed to the socket first, and what it could not route is stored offline.
"""
import argparse
import json
import signal
import sys
import time

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

READING = "urn:xmpp-iot-agent:reading:1"
DELAY = "urn:xmpp:delay"
RETRY = 0.5


class Consumer(slixmpp.ClientXMPP):
    def __init__(self, args):
        super().__init__(args.jid, args.password)
        self.ca_certs = args.ca
        host, _, port = args.server.rpartition(":")
        self.endpoint = (host, int(port))
        self.out = open(args.out, "a", encoding="utf-8")
        self.stopping = False
        self.retry = None
        self.done = self.loop.create_future()
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("disconnected", lambda _: self.again())
        self.add_event_handler("connection_failed", lambda _: self.again())
        self.add_event_handler("failed_all_auth", lambda _: self.again())
        self.register_handler(
            Callback("readings", MatchXPath("{jabber:client}message"), self.on_message))

    async def start(self, _event):
        self.send_presence()
        # Stanzas of a session are handled in order: once the roster is back, presence applied.
        await self.get_roster()
        print(f"READY {self.boundjid.full}", file=sys.stderr, flush=True)

    def again(self):
        """Reconnect soon; slixmpp's own retry backs off up to minutes."""
        if self.stopping or self.retry is not None:
            return
        self.cancel_connection_attempt()

        def go():
            self.retry = None
            if not self.stopping:
                self.connect(self.endpoint)

        self.retry = self.loop.call_later(RETRY, go)

    def on_message(self, msg):
        t = time.time()
        domain = self.boundjid.domain
        delays = msg.xml.findall(f"{{{DELAY}}}delay")
        offline = any(d.get("from") == domain for d in delays)
        delayed = any(d.get("from") != domain for d in delays)
        for r in msg.xml.findall(f"{{{READING}}}reading"):
            try:
                seq = int(r.get("seq"))
            except (TypeError, ValueError):
                seq = r.get("seq")
            line = {"device": r.get("device"), "boot": r.get("boot"), "seq": seq,
                    "delayed": delayed, "offline": offline, "t": t, "id": msg["id"] or None}
            self.out.write(json.dumps(line) + "\n")
        self.out.flush()

    def stop(self):
        self.stopping = True
        if self.retry is not None:
            self.retry.cancel()
        self.cancel_connection_attempt()
        self.out.flush()
        if not self.done.done():
            self.done.set_result(0)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("jid")
    p.add_argument("password")
    p.add_argument("--server", required=True, help="HOST:PORT")
    p.add_argument("--ca", required=True, help="CA certificate file the server cert must chain to")
    p.add_argument("--out", required=True, help="file the reading lines are appended to")
    args = p.parse_args()
    xmpp = Consumer(args)
    for sig in (signal.SIGTERM, signal.SIGINT):
        xmpp.loop.add_signal_handler(sig, xmpp.stop)
    xmpp.connect(xmpp.endpoint)
    code = xmpp.loop.run_until_complete(xmpp.done)
    try:
        xmpp.loop.run_until_complete(xmpp.disconnect(wait=0.5))
    except Exception:  # exiting anyway
        pass
    xmpp.out.close()
    sys.exit(code)


if __name__ == "__main__":
    main()
