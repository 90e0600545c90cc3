"""Asks the agent what it is, with slixmpp's own plugins (slixmpp 1.8.3; run with /usr/bin/python3).

    disco_probe.py JID PASSWORD --server 127.0.0.1:PORT --ca CAFILE --agent FULLJID

Logs in, subscribes to the agent's presence, then uses xep_0030 (disco#info, disco#items),
xep_0092 (version), xep_0199 (ping) and xep_0115 (entity capabilities: the plugin fetches
disco#info for the hash in the agent's presence and accepts it only if the hash verifies), and
sends one IQ in a namespace nobody implements. Prints ONE JSON object on stdout. Exit 0, or 1 on
timeout or connection failure.
"""
import asyncio

import slixmpp
from probe_base import Probe, main
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream import ET

STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"


def condition_of(err):
    tags = [c.tag.split("}")[1] for c in err.iq["error"].xml if c.tag.startswith(f"{{{STANZAS}}}")]
    return next((t for t in tags if t != "text"), None)


class DiscoProbe(Probe):
    def __init__(self, args):
        super().__init__(args)
        self.agent = slixmpp.JID(args.agent)
        self.result = {}
        self.caps_ver = self.loop.create_future()
        for plugin in ("xep_0030", "xep_0092", "xep_0199", "xep_0115"):
            self.register_plugin(plugin)
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("presence_available", self.on_presence)

    def on_presence(self, pres):
        if pres["from"] == self.agent and pres["caps"]["ver"] and not self.caps_ver.done():
            self.caps_ver.set_result(pres["caps"]["ver"])

    async def start(self, _event):
        try:
            self.send_presence()
            await self.get_roster()
            self.send_presence_subscription(pto=self.agent.bare)
            await self.probe()
            self.finish(0)
        except Exception as e:  # report anything unexpected as a failure with its reason
            self.finish(1, f"probe failed: {e!r}")

    async def probe(self):
        r = self.result
        info = (await self["xep_0030"].get_info(jid=self.agent, timeout=10))["disco_info"]
        r["identities"] = [list(i) for i in info["identities"]]
        r["features"] = sorted(info["features"])
        items = (await self["xep_0030"].get_items(jid=self.agent, timeout=10))["disco_items"]
        r["items"] = [list(i) for i in items["items"]]
        version = (await self["xep_0092"].get_version(self.agent, timeout=10))["software_version"]
        r["version"] = {"name": version["name"], "version": version["version"], "os": version["os"] or None}
        r["ping_seconds"] = await self["xep_0199"].ping(self.agent, timeout=10)
        iq = self.make_iq_get(ito=self.agent)
        iq.append(ET.Element("{urn:example:nothing}query"))
        try:
            await iq.send(timeout=10)
            r["unknown"] = "result"
        except IqError as e:
            r["unknown"] = {"type": e.iq["error"]["type"], "condition": condition_of(e)}
        ver = await asyncio.wait_for(self.caps_ver, 10)
        r["caps_ver"] = ver
        # The plugin stores the verstring for the agent only once the hash verified.
        for _ in range(100):
            if str(await self["xep_0115"].get_verstring(self.agent.full)) == ver:
                break
            await asyncio.sleep(0.05)
        r["caps_verified"] = str(await self["xep_0115"].get_verstring(self.agent.full)) == ver


def arguments(p):
    p.add_argument("--agent", required=True, help="the agent's full JID")


if __name__ == "__main__":
    main(DiscoProbe, __doc__.splitlines()[0], arguments, lambda probe: probe.result)
