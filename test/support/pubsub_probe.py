"""Reads the agent's telemetry node with slixmpp's own XEP-0060 client (slixmpp 1.8.3).

    pubsub_probe.py JID PASSWORD --server 127.0.0.1:PORT --ca CAFILE --agent BAREJID --node NODE
                    [--subscribe-presence]

With --subscribe-presence it first asks for the agent's presence and waits for the approval
(PEP's "presence" access model lets only such contacts read). Then it fetches the node's items
with xep_0060.get_items and prints ONE JSON object: {"items": [{"id", "readings": [...]}]} or
{"error": condition}. Exit 0, or 1 on timeout or connection failure.
"""
import asyncio

import slixmpp
from probe_base import Probe, main
from slixmpp.exceptions import IqError

READING = "urn:xmpp-iot-agent:reading:1"
TELEMETRY = "urn:xmpp-iot-agent:telemetry:1"
STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"


class PubSubProbe(Probe):
    def __init__(self, args):
        super().__init__(args)
        self.result = {}
        self.approved = self.loop.create_future()
        self.register_plugin("xep_0060")
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("presence_subscribed", self.on_subscribed)

    def on_subscribed(self, pres):
        if pres["from"].bare == self.args.agent and not self.approved.done():
            self.approved.set_result(True)

    async def start(self, _event):
        try:
            self.send_presence()
            await self.get_roster()
            if self.args.subscribe_presence:
                self.send_presence_subscription(pto=self.args.agent)
                await asyncio.wait_for(self.approved, 10)
            try:
                iq = await self["xep_0060"].get_items(self.args.agent, self.args.node, timeout=10)
                items = []
                for item in iq["pubsub"]["items"]:
                    payload = item.xml.find(f"{{{TELEMETRY}}}telemetry")
                    readings = [] if payload is None else [
                        {"device": r.get("device"), "boot": r.get("boot"), "seq": int(r.get("seq"))}
                        for r in payload.findall(f"{{{READING}}}reading")]
                    items.append({"id": item["id"], "readings": readings})
                self.result["items"] = items
            except IqError as e:
                tags = [c.tag.split("}")[1] for c in e.iq["error"].xml if c.tag.startswith(f"{{{STANZAS}}}")]
                self.result["error"] = next((t for t in tags if t != "text"), None)
            self.finish(0)
        except Exception as e:
            self.finish(1, f"probe failed: {e!r}")


def arguments(p):
    p.add_argument("--agent", required=True)
    p.add_argument("--node", required=True)
    p.add_argument("--subscribe-presence", action="store_true")


if __name__ == "__main__":
    main(PubSubProbe, __doc__.splitlines()[0], arguments, lambda probe: probe.result)
