"""Reads the agent out with slixmpp's own XEP-0323 client (slixmpp 1.8.3; /usr/bin/python3).

    readout_probe.py JID PASSWORD --server 127.0.0.1:PORT --ca CAFILE --agent FULLJID
                     [--field NAME]... [--node ID]... [--flags JSON]

Calls xep_0323's request_data() and prints ONE JSON line per callback the plugin makes
({"result": accepted|rejected|fields|failure|done, ...}) until the readout ends. Exit 0 when it
ended, 1 on timeout or connection failure.
"""
import json

import slixmpp
from probe_base import Probe, main

ENDINGS = ("done", "rejected", "failure")


class ReadoutProbe(Probe):
    def __init__(self, args):
        super().__init__(args)
        self.register_plugin("xep_0323")
        self.add_event_handler("session_start", self.start)

    async def start(self, _event):
        self.send_presence()
        await self.get_roster()
        a = self.args
        flags = json.loads(a.flags) if a.flags else None
        self["xep_0323"].request_data(self.boundjid.full, a.agent, self.on_result,
                                      nodeIds=a.node or None, fields=a.field or None, flags=flags)

    def on_result(self, from_jid, result, nodeId=None, timestamp=None, fields=None, error_msg=None):
        record = {"result": result, "from": str(from_jid)}
        if nodeId is not None:
            record["nodeId"] = nodeId
        if timestamp is not None:
            record["timestamp"] = str(timestamp)
        if fields is not None:
            record["fields"] = fields
        if error_msg is not None:
            record["error"] = error_msg
        print(json.dumps(record), flush=True)
        if result in ENDINGS:
            self.finish(0)


def arguments(p):
    p.add_argument("--agent", required=True)
    p.add_argument("--field", action="append")
    p.add_argument("--node", action="append")
    p.add_argument("--flags", help="JSON object of req flags, e.g. {\"momentary\": \"true\"}")


if __name__ == "__main__":
    main(ReadoutProbe, __doc__.splitlines()[0], arguments)
