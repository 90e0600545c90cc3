/** The command audit trail (src/core/audit.ts). */
import { describe, expect, it } from "vitest";
import { AuditLog, type AuditLogger } from "../../src/core/audit.js";

function recorder(): AuditLogger & { lines: Array<{ level: string; obj: object; msg: string }> } {
  const lines: Array<{ level: string; obj: object; msg: string }> = [];
  return {
    lines,
    info: (obj, msg) => void lines.push({ level: "info", obj, msg }),
    warn: (obj, msg) => void lines.push({ level: "warn", obj, msg }),
  };
}

describe("AuditLog", () => {
  it("records an accepted command with the bare JID only", () => {
    const log = recorder();
    new AuditLog(log).commandAccepted({
      sender: "Juliet@Capulet.lit/balcony-secret-resource",
      transport: "chat",
      command: "  set relay on ",
      role: "operator",
    });
    expect(log.lines).toEqual([
      {
        level: "info",
        msg: "command accepted",
        obj: {
          audit: "command",
          event: "accepted",
          sender: "juliet@capulet.lit",
          transport: "chat",
          role: "operator",
          command: "set relay on",
        },
      },
    ]);
  });

  it("records the outcome, warning on failure", () => {
    const log = recorder();
    const audit = new AuditLog(log);
    const base = {
      sender: "a@b",
      transport: "adhoc",
      command: "set relay on",
      role: "admin",
    } as const;
    audit.commandDone({ ...base, ok: true, outcome: "relay set to on", durationMs: 12.6 });
    audit.commandDone({ ...base, ok: false, outcome: "the device is offline (x)" });
    expect(log.lines.map((l) => [l.level, l.msg])).toEqual([
      ["info", "command done"],
      ["warn", "command failed"],
    ]);
    expect(log.lines[0]?.obj).toMatchObject({
      ok: true,
      outcome: "relay set to on",
      durationMs: 13,
    });
    expect(log.lines[1]?.obj).not.toHaveProperty("durationMs");
  });

  it("keeps only the first word of a stranger's or unparsable message", () => {
    const log = recorder();
    const audit = new AuditLog(log);
    audit.commandRefused({
      sender: "eve@evil.example/x",
      transport: "chat",
      command: "hello there, my password is hunter2",
      role: undefined,
      reason: "stranger",
    });
    audit.commandRefused({
      sender: "a@b",
      transport: "chat",
      command: "setrelay on please, token=abc",
      role: "viewer",
      reason: "invalid",
      detail: 'unknown command "setrelay"; try help',
    });
    expect(log.lines[0]).toEqual({
      level: "warn",
      msg: "command refused: stranger",
      obj: {
        audit: "command",
        event: "refused",
        sender: "eve@evil.example",
        transport: "chat",
        role: "none",
        command: "hello",
        reason: "stranger",
      },
    });
    expect(log.lines[1]?.obj).toMatchObject({
      command: "setrelay",
      detail: 'unknown command "setrelay"; try help',
    });
    expect(JSON.stringify(log.lines)).not.toMatch(/hunter2|token=abc/);
  });

  it("keeps the whole command when a known user is refused for lack of rights", () => {
    const log = recorder();
    new AuditLog(log).commandRefused({
      sender: "a@b",
      transport: "mqtt",
      command: "set relay on",
      role: "viewer",
      reason: "forbidden",
    });
    expect(log.lines[0]?.obj).toMatchObject({ command: "set relay on", role: "viewer" });
  });

  it("truncates long text, flattens control characters and hides invalid senders", () => {
    const log = recorder();
    new AuditLog(log).commandAccepted({
      sender: `${"x ".repeat(500)}@nowhere`,
      transport: "chat",
      command: `get\u001b[31m ${"a".repeat(500)}`,
      role: "viewer",
    });
    const obj = log.lines[0]?.obj as { sender: string; command: string };
    expect(obj.sender).toBe("(invalid JID)");
    expect(obj.command).toHaveLength(201);
    expect(obj.command.startsWith("get\ufffd[31m ")).toBe(true);
    expect(obj.command.endsWith("…")).toBe(true);
  });
});
