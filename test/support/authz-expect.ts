/**
 * What the authorization matrix expects of each cell, written down once from the access rules
 * (core/commands.ts: the least role per verb; core/access.ts: admin ⊃ operator ⊃ viewer) rather
 * than derived from the agent's code, so that a change of behaviour shows up as a failed cell.
 */
import type { Observed } from "./authz-cells.js";

export type Path = "chat set" | "chat get" | "chat admin" | "adhoc set" | "control set";
export type Expect = "grant" | "role" | "stranger" | "ignored";
export type Role = "admin" | "operator" | "viewer";
export const CHAT_PATHS: Path[] = ["chat set", "chat get", "chat admin"];
export const ALL_PATHS: Path[] = [...CHAT_PATHS, "adhoc set", "control set"];
const NEEDS: Record<Path, Role> = {
  "chat set": "operator",
  "chat get": "viewer",
  "chat admin": "admin",
  "adhoc set": "operator",
  "control set": "operator",
};
const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };
export const TEXT: Record<Exclude<Path, "adhoc set" | "control set">, (on: boolean) => string> = {
  "chat set": (on) => `set relay ${on ? "on" : "off"}`,
  "chat get": () => "get temp",
  "chat admin": () => "reconnect-device",
};

/** The bare JID the audit log must name, and the role it must record. */
export interface AuditedAs {
  sender: string;
  role: Role | "none";
}

export function expectedOf(path: Path, expect: Expect, who: AuditedAs): Observed {
  const auditOf = (events: string) => (events ? `${events} ${who.sender} ${who.role}` : "none");
  const changes = expect === "grant" && path !== "chat get";
  const reply = {
    grant: "answer",
    role: path.startsWith("chat") ? "role-refusal" : "forbidden",
    stranger: "forbidden",
    ignored: "none",
  }[expect];
  const audit = {
    grant: "accepted,done",
    role: "refused:forbidden",
    stranger: "refused:stranger",
    ignored: "",
  }[expect];
  return { reply, device: changes ? "changed" : "unchanged", audit: auditOf(audit) };
}

export function expectOf(role: Role | "none", path: Path): Expect {
  if (role === "none") return "stranger";
  return RANK[role] >= RANK[NEEDS[path]] ? "grant" : "role";
}
