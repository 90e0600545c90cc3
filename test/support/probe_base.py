"""What every slixmpp probe here shares (slixmpp 1.8.3; run with /usr/bin/python3): logging in
with the test server's CA, a result to finish with, a timeout, and the exit code.

A probe subclasses Probe, registers its plugins and handlers, and calls self.finish(code) when
done; main() parses the shared options (JID PASSWORD --server HOST:PORT --ca FILE --timeout S)
and runs it. Exit 0 when the probe finished well, 1 on timeout or connection failure.
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
        self.add_event_handler("connection_failed", lambda e: self.finish(1, f"connection failed: {e}"))

    def finish(self, code, why=None):
        if why:
            print(why, file=sys.stderr, flush=True)
        if not self.done.done():
            self.done.set_result(code)


def main(probe_class, description, add_arguments, result=None):
    """Runs `probe_class`; prints `result(probe)` as one JSON line at the end, if given."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("jid")
    p.add_argument("password")
    p.add_argument("--server", required=True, help="HOST:PORT")
    p.add_argument("--ca", required=True, help="CA certificate file the server cert must chain to")
    p.add_argument("--timeout", type=float, default=30.0)
    add_arguments(p)
    args = p.parse_args()
    host, _, port = args.server.rpartition(":")
    xmpp = probe_class(args)
    xmpp.connect((host, int(port)))
    xmpp.loop.call_later(args.timeout, xmpp.finish, 1, f"timeout after {args.timeout}s")
    code = xmpp.loop.run_until_complete(xmpp.done)
    if result is not None:
        print(json.dumps(result(xmpp)), flush=True)
    try:
        xmpp.loop.run_until_complete(xmpp.disconnect(wait=1.0))
    except Exception:  # exiting anyway; a dead connection must not change the exit code
        pass
    sys.exit(code)
