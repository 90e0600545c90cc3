"""Sets actuators with slixmpp's own XEP-0325 client (slixmpp 1.8.3; /usr/bin/python3).

    control_probe.py JID PASSWORD --server 127.0.0.1:PORT --ca CAFILE --agent FULLJID
                     --set NAME TYPE VALUE [--set ...] [--node ID]...

Calls xep_0325's set_request() and prints ONE JSON line with what its callback got
({"result": "OK"|"NotFound"|..., "fields": [...], "error": "..."}). Exit 0 when answered, 1 on
timeout or connection failure.
"""
import argparse
import json
import sys

import slixmpp


class Probe(slixmpp.ClientXMPP):
    def __init__(self, args):
        super().__init__(args.jid, args.password)
        self.ca_certs = args.ca
        self.args = args
        self.done = self.loop.create_future()
        self.register_plugin("xep_0325")
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("connection_failed", lambda e: self.finish(1, f"connection failed: {e}"))

    def finish(self, code, why=None):
        if why:
            print(why, file=sys.stderr, flush=True)
        if not self.done.done():
            self.done.set_result(code)

    async def start(self, _event):
        self.send_presence()
        await self.get_roster()
        fields = [tuple(s) for s in self.args.set]
        self["xep_0325"].set_request(self.boundjid.full, self.args.agent, self.on_result,
                                     fields, nodeIds=self.args.node or None)

    def on_result(self, from_jid, result, nodeIds=None, fields=None, error_msg=None):
        print(json.dumps({"result": result, "fields": fields or [], "error": error_msg}), flush=True)
        self.finish(0)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("jid")
    p.add_argument("password")
    p.add_argument("--server", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--agent", required=True)
    p.add_argument("--set", nargs=3, action="append", required=True, metavar=("NAME", "TYPE", "VALUE"))
    p.add_argument("--node", action="append")
    p.add_argument("--timeout", type=float, default=20.0)
    args = p.parse_args()
    host, _, port = args.server.rpartition(":")
    xmpp = Probe(args)
    xmpp.connect((host, int(port)))
    xmpp.loop.call_later(args.timeout, xmpp.finish, 1, f"timeout after {args.timeout}s")
    code = xmpp.loop.run_until_complete(xmpp.done)
    try:
        xmpp.loop.run_until_complete(xmpp.disconnect(wait=1.0))
    except Exception:  # exiting anyway
        pass
    sys.exit(code)


if __name__ == "__main__":
    main()
