/**
 * The demo's console: an XMPP client logged in as the device's owner, the way a person with
 * Gajim would be. It prints what the owner receives (telemetry, replies, alerts, the agent's
 * presence) and sends every line typed as a chat message to the agent. Without a prompt
 * (`--no-console`) it only prints, which is what scripts and tests use.
 */
import { createInterface, type Interface } from "node:readline";
import type { CliIo } from "../cli/io.js";
import {
  closeClient,
  createXmppClient,
  xml,
  type Element,
  type XmppClient,
} from "../xmpp/client.js";
import { receiptFor } from "../xmpp/stanzas.js";
import { describeStanza, formatEvent, type ConsoleEvent } from "./format.js";

export interface ConsoleOptions {
  service: string;
  domain: string;
  username: string;
  password: string;
  caPem: string;
  agentJid: string;
  io: CliIo;
  /** The stream to read commands from; none: print only. */
  input?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Ends the console once this many telemetry messages were received. */
  limit?: number;
}

const CONSOLE_HELP = [
  "Lines you type go to the agent as chat messages; its answers show up as 'agent'.",
  "Try: help, status, get temp, set relay on, set led blink, whoami, unsubscribe, subscribe.",
  "/quit (or Ctrl-D, Ctrl-C) ends the demo; /help shows this.",
];

export class DemoConsole {
  /** Resolves with the exit code when the console is done (quit, limit, lost server). */
  readonly done: Promise<number>;
  private finish: (code: number) => void = () => undefined;
  private finished = false;
  private telemetryCount = 0;
  private counter = 0;
  private rl: Interface | undefined;
  private agentOnline = false;

  private constructor(
    private readonly client: XmppClient,
    private readonly options: ConsoleOptions,
  ) {
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  /** Logs in, subscribes to the agent's presence and telemetry, then starts reading input. */
  static async start(options: ConsoleOptions): Promise<DemoConsole> {
    const { service, domain, username, password, caPem } = options;
    const client = createXmppClient({ service, domain, username, password, caPem });
    const demo = new DemoConsole(client, options);
    client.entity.on("error", (e: Error) => demo.print({ kind: "error", lines: [e.message] }));
    client.entity.on("stanza", (s: Element) => demo.onStanza(s));
    await client.entity.start();
    client.entity.on("disconnect", () => demo.lost());
    // Messages to the bare JID reach only a resource that fetched its roster and sent presence.
    await client.iqCaller.get(xml("query", { xmlns: "jabber:iq:roster" }));
    await client.entity.send(xml("presence"));
    await client.entity.send(xml("presence", { to: options.agentJid, type: "subscribe" }));
    await demo.greet();
    return demo;
  }

  private async greet(): Promise<void> {
    const { io, input, username, domain } = this.options;
    io.out(
      `Console logged in as ${username}@${domain}. It sends 'subscribe' to the agent for you,\n`,
    );
    io.out("so readings show up here ('unsubscribe' stops them).\n");
    await this.send("subscribe");
    if (input) {
      io.out(`${CONSOLE_HELP.join("\n")}\n\n`);
      this.readLines(input);
    }
  }

  /** Chat text to the agent, with an id so its reply can quote it. */
  async send(body: string): Promise<void> {
    const id = `console-${++this.counter}`;
    const message = xml(
      "message",
      { to: this.options.agentJid, type: "chat", id },
      xml("body", {}, body),
    );
    await this.client.entity.send(message);
  }

  /** Waits (briefly) for the agent's unavailable presence, so the user sees it leave. */
  async agentGone(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.agentOnline && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Ends the prompt and the session (unavailable presence, stream closed). */
  async stop(): Promise<void> {
    this.end(0);
    this.rl?.close();
    await closeClient(this.client, true);
  }

  private end(code: number): void {
    if (this.finished) return;
    this.finished = true;
    this.finish(code);
  }

  private readLines(input: NodeJS.ReadableStream & { isTTY?: boolean }): void {
    const terminal = input.isTTY === true;
    // Only a terminal gets a prompt: piped input would interleave "> " with the output.
    const rl = createInterface({
      input,
      ...(terminal ? { output: process.stdout, terminal: true } : { terminal: false }),
      prompt: "owner> ",
    });
    this.rl = rl;
    rl.on("line", (line) => void this.onLine(line.trim()));
    rl.on("close", () => this.end(0)); // Ctrl-D, or the end of piped input
    rl.on("SIGINT", () => this.end(0)); // Ctrl-C: a terminal in raw mode sends no signal
    rl.prompt();
  }

  private async onLine(line: string): Promise<void> {
    if (line === "/quit" || line === "/exit") return this.end(0);
    if (line === "/help") this.print({ kind: "message", lines: CONSOLE_HELP });
    else if (line.startsWith("/")) this.print({ kind: "error", lines: ["unknown; try /help"] });
    else if (line !== "") {
      await this.send(line).catch((e: Error) => {
        this.print({ kind: "error", lines: [`not sent: ${e.message}`] });
      });
    }
    if (!this.finished) this.rl?.prompt();
  }

  private onStanza(stanza: Element): void {
    const receipt = receiptFor(stanza, `receipt-${++this.counter}`);
    if (receipt) this.client.entity.send(receipt).catch(() => undefined);
    const event = describeStanza(stanza, this.options.agentJid);
    // Past --count (or /quit) readings are noise: only the agent leaving is still news.
    if (event === undefined || (this.finished && event.kind === "telemetry")) return;
    if (event.kind === "presence" && !this.trackAgent(stanza.attrs.type as string | undefined)) {
      return;
    }
    this.print(event);
    if (event.kind === "telemetry" && ++this.telemetryCount >= (this.options.limit ?? Infinity)) {
      this.end(0);
    }
  }

  /** False for news that is none: Prosody answers our subscribe with "unavailable" at first. */
  private trackAgent(type: string | undefined): boolean {
    const wasOnline = this.agentOnline;
    if (type === undefined) this.agentOnline = true;
    else if (type === "unavailable") this.agentOnline = false;
    return type !== "unavailable" || wasOnline;
  }

  /** Prints above the prompt and redraws it with what was typed so far. */
  private print(event: ConsoleEvent): void {
    const terminal = this.rl?.terminal === true;
    this.options.io.out(`${terminal ? "\r\x1b[K" : ""}${formatEvent(event)}\n`);
    if (terminal && !this.finished) this.rl?.prompt(true);
  }

  private lost(): void {
    if (this.finished) return;
    this.print({ kind: "error", lines: ["lost the connection to the demo server"] });
    this.end(1);
  }
}
