/**
 * JID checks (RFC 7622) for the configuration. Each returns what is wrong, or undefined, so the
 * config loader can say why a JID was refused instead of just "invalid". Full PRECIS preparation
 * is the server's job; these catch the mistakes people make when typing a JID into a file.
 */
import { bareJid } from "../core/jid.js";

const MAX_PART_BYTES = 1023;

// RFC 7622 §3.3.1 forbids these in a localpart; whitespace and controls are never valid there.
const LOCALPART_FORBIDDEN = /["&'/:<>@\s\p{Cc}]/u;
const DOMAIN_LABEL = /^[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?$/u;

function tooLong(part: string, what: string): string | undefined {
  return Buffer.byteLength(part, "utf8") > MAX_PART_BYTES
    ? `the ${what} is longer than ${MAX_PART_BYTES} bytes`
    : undefined;
}

export function localpartProblem(localpart: string): string | undefined {
  if (localpart === "") return "the localpart before @ is empty";
  const bad = LOCALPART_FORBIDDEN.exec(localpart);
  if (bad) return `the localpart contains ${JSON.stringify(bad[0])}, which a JID cannot hold`;
  return tooLong(localpart, "localpart");
}

export function domainProblem(domain: string): string | undefined {
  if (domain === "") return "the domain is empty";
  // A trailing dot is the DNS root; RFC 7622 §3.2 says to strip it, so people write it by mistake.
  if (domain.endsWith(".")) return "the domain ends with a dot";
  const label = domain.split(".").find((part) => !DOMAIN_LABEL.test(part));
  if (label !== undefined) return `the domain label ${JSON.stringify(label)} is not a hostname`;
  return tooLong(domain, "domain");
}

export function resourceProblem(resource: string): string | undefined {
  if (resource === "") return "the resource is empty";
  if (/[\p{Cc}]/u.test(resource)) return "the resource contains a control character";
  return tooLong(resource, "resource");
}

/**
 * A bare JID is `localpart@domain`: the address of an account, whichever client it uses. The
 * checks above explain the common mistakes; the agent's own normalisation (core/jid.ts) has the
 * last word, so that nothing the configuration accepts is refused by the access list at start.
 */
export function bareJidProblem(jid: string): string | undefined {
  const at = jid.indexOf("@");
  const slash = jid.indexOf("/", at + 1);
  if (slash >= 0) return "drop the /resource (access is granted to an account, not one client)";
  if (at < 0) return "the JID has no localpart@";
  const problem = localpartProblem(jid.slice(0, at)) ?? domainProblem(jid.slice(at + 1));
  if (problem !== undefined) return problem;
  return bareJid(jid) === undefined
    ? "it holds characters RFC 7622 does not allow in a JID (e.g. ligatures or invisible ones)"
    : undefined;
}
