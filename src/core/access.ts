/**
 * Who may do what. Matching is on the normalized bare JID only: the resource is chosen by the
 * client, so it never grants or removes rights, and spelling variants of one account
 * ("Juliet@Example.COM.") are the same entry (see jid.ts for what counts as the same).
 */
import { parseJid, formatJid } from "./jid.js";

export type Role = "viewer" | "operator" | "admin";

export interface AccessEntry {
  jid: string;
  role: Role;
}

const RANK: Readonly<Record<Role, number>> = { viewer: 1, operator: 2, admin: 3 };

export class AccessList {
  private readonly roles = new Map<string, Role>();

  /** Throws on an entry that is not a bare user@domain JID or that conflicts with another. */
  constructor(entries: ReadonlyArray<AccessEntry>) {
    this.replace(entries);
  }

  /**
   * Takes a new list (a configuration reload). All or nothing: a bad list throws and leaves the
   * current one in force.
   */
  replace(entries: ReadonlyArray<AccessEntry>): void {
    const roles = new Map<string, Role>();
    const origin = new Map<string, string>();
    for (const { jid, role } of entries) {
      const bare = entryKey(jid);
      const existing = roles.get(bare);
      if (existing !== undefined && existing !== role) {
        throw new Error(
          `access list: "${jid}" (${role}) is the same account as "${origin.get(bare) ?? bare}" ` +
            `(${existing}); list it once`,
        );
      }
      roles.set(bare, role);
      origin.set(bare, jid);
    }
    this.roles.clear();
    for (const [jid, role] of roles) this.roles.set(jid, role);
  }

  get size(): number {
    return this.roles.size;
  }

  /** The sender's role; undefined for strangers and for addresses that are not valid JIDs. */
  roleOf(fromJid: string): Role | undefined {
    const jid = parseJid(fromJid);
    if (jid?.local === undefined) return undefined;
    return this.roles.get(formatJid({ local: jid.local, domain: jid.domain }));
  }

  /** Normalized bare JIDs whose role includes `minimum` (e.g. who receives alerts). */
  withRole(minimum: Role): string[] {
    return [...this.roles].filter(([, role]) => AccessList.allows(role, minimum)).map(([j]) => j);
  }

  /** admin ⊃ operator ⊃ viewer; no role allows nothing. */
  static allows(role: Role | undefined, needed: Role): boolean {
    return role !== undefined && RANK[role] >= RANK[needed];
  }
}

function entryKey(raw: string): string {
  const jid = parseJid(raw);
  if (jid === undefined) throw new Error(`access list: "${raw}" is not a valid JID`);
  if (jid.resource !== undefined) {
    throw new Error(`access list: "${raw}" has a resource; list the bare JID (user@domain)`);
  }
  // A bare domain would read like "everyone at this server" but only match the server itself.
  if (jid.local === undefined) {
    throw new Error(`access list: "${raw}" has no user part; domain-wide grants are not supported`);
  }
  return formatJid(jid);
}
