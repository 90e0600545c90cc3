"""Sets actuators with slixmpp's own XEP-0325 client (slixmpp 1.8.3; /usr/bin/python3).

    control_probe.py JID PASSWORD --server 127.0.0.1:PORT --ca CAFILE --agent FULLJID
                     --set NAME TYPE VALUE [--set ...] [--node ID]...

Calls xep_0325's set_request() and prints ONE JSON line with what its callback got
({"result": "OK"|"NotFound"|..., "fields": [...], "error": "..."}). Exit 0 when answered, 1 on
timeout or connection failure.
"""
import json

import slixmpp
from probe_base import Probe, main


class ControlProbe(Probe):
    def __init__(self, args):
        super().__init__(args)
        self.register_plugin("xep_0325")
        self.add_event_handler("session_start", self.start)

    async def start(self, _event):
        self.send_presence()
        await self.get_roster()
        fields = [tuple(s) for s in self.args.set]
        self["xep_0325"].set_request(self.boundjid.full, self.args.agent, self.on_result,
                                     fields, nodeIds=self.args.node or None)

    def on_result(self, from_jid, result, nodeIds=None, fields=None, error_msg=None):
        print(json.dumps({"result": result, "fields": fields or [], "error": error_msg}), flush=True)
        self.finish(0)


def arguments(p):
    p.add_argument("--agent", required=True)
    p.add_argument("--set", nargs=3, action="append", required=True, metavar=("NAME", "TYPE", "VALUE"))
    p.add_argument("--node", action="append")


if __name__ == "__main__":
    main(ControlProbe, __doc__.splitlines()[0], arguments)
