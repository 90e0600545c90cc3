"""Drives the agent's ad-hoc commands with slixmpp's own plugins (slixmpp 1.8.3; /usr/bin/python3).

    adhoc_probe.py JID PASSWORD --server 127.0.0.1:PORT --ca CAFILE --agent FULLJID
                   [--run NODE [FIELD=VALUE]...]...

Lists the commands with xep_0050.get_commands, then runs each --run: execute, and while the
agent answers "executing" with a form, submits the next group of FIELD=VALUE pairs (groups are
separated by a lone "/"). Prints ONE JSON object: {"commands": [[node, name]...], "runs": [...]}
with each stage's status, form fields and notes, or the error condition. Exit 0, or 1 on
timeout or connection failure.
"""

import slixmpp
from probe_base import Probe, main
from slixmpp.exceptions import IqError

STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
COMMANDS = "http://jabber.org/protocol/commands"


def condition_of(err):
    tags = [c.tag for c in err.iq["error"].xml]
    return [t.split("}")[1] for t in tags if t.startswith(f"{{{STANZAS}}}") or t.startswith(f"{{{COMMANDS}}}")]


def describe(iq):
    cmd = iq["command"]
    form = cmd["form"]
    fields = {}
    for var, field in form.get_fields().items():
        fields[var] = {"type": field["type"], "options": [o["value"] for o in field["options"]]}
    return {"status": cmd["status"], "sessionid": cmd["sessionid"],
            "actions": sorted(cmd["actions"]), "fields": fields,
            "notes": [[t, text] for t, text in cmd["notes"]]}


class AdhocProbe(Probe):
    def __init__(self, args):
        super().__init__(args)
        self.result = {}
        for plugin in ("xep_0004", "xep_0030", "xep_0050"):
            self.register_plugin(plugin)
        self.add_event_handler("session_start", self.start)

    async def start(self, _event):
        try:
            self.send_presence()
            await self.get_roster()
            items = await self["xep_0050"].get_commands(self.args.agent)
            self.result["commands"] = [[i[1], i[2]] for i in items["disco_items"]["items"]]
            self.result["runs"] = [await self.run(spec) for spec in (self.args.run or [])]
            self.finish(0)
        except Exception as e:
            self.finish(1, f"probe failed: {e!r}")

    async def run(self, spec):
        node, groups = spec[0], [[]]
        for token in spec[1:]:
            if token == "/":
                groups.append([])
            else:
                groups[-1].append(token.split("=", 1))
        stages = []
        try:
            iq = await self["xep_0050"].send_command(self.args.agent, node, timeout=15)
            stages.append(describe(iq))
            for pairs in groups:
                if iq["command"]["status"] != "executing":
                    break
                form = self["xep_0004"].make_form(ftype="submit")
                for var, value in pairs:
                    form.add_field(var=var, value=value)
                action = "next" if "next" in iq["command"]["actions"] else "complete"
                iq = await self["xep_0050"].send_command(
                    self.args.agent, node, action=action, payload=form,
                    sessionid=iq["command"]["sessionid"], timeout=15)
                stages.append(describe(iq))
        except IqError as e:
            stages.append({"error": condition_of(e)})
        return {"node": node, "stages": stages}


def arguments(p):
    p.add_argument("--agent", required=True)
    p.add_argument("--run", nargs="+", action="append")


if __name__ == "__main__":
    main(AdhocProbe, __doc__.splitlines()[0], arguments, lambda probe: probe.result)
