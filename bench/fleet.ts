/**
 * `npm run bench:fleet [-- --agents 50 --seconds 60 --rate 1 --staggerMs 250]`: many agents on
 * one server. One Prosody, N accounts, N emulated devices on N ptys and N `iot-agent run`
 * processes (own account, own outbox), started staggered; one subscriber account per 10 agents.
 * Reports memory per agent (median, max), messages/s the server delivered to the subscribers,
 * delivery completeness by (device, boot, seq), start-up under the start storm, and Prosody's
 * RSS and CPU. Set IOT_AGENT_BIN=dist/iot-agent.mjs to run the bundle (far less memory than tsx).
 */
import { createHash, createHmac, pbkdf2Sync, randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProsody, type ProsodyServer } from "../src/demo/prosody.js";
import { startAgentProcess } from "./process-pipeline.js";
import { agentBuild, type AgentProcess } from "./support/agent-process.js";
import {
  startDevice,
  xmppSubscriber,
  type TrackedDevice,
  type XmppSubscriber,
} from "./support/collectors.js";
import { emit, load1, machine, median, numberArgs, round, sample, sleep } from "./support/proc.js";

const AGENTS_PER_SUBSCRIBER = 10;
const ITERATIONS = 4096;

/**
 * Accounts written as Prosody's internal_hashed store keeps them (SCRAM-SHA-1 keys), which is
 * what `prosodyctl register` does with the server stopped, without one process per account.
 */
async function registerMany(server: ProsodyServer, users: Array<[string, string]>): Promise<void> {
  const dir = join(server.dir, "data", server.domain, "accounts");
  await mkdir(dir, { recursive: true });
  for (const [user, password] of users) {
    const salt = randomUUID();
    const salted = pbkdf2Sync(password, salt, ITERATIONS, 20, "sha1");
    const hmac = (text: string) => createHmac("sha1", salted).update(text).digest();
    const stored = createHash("sha1").update(hmac("Client Key")).digest("hex");
    const lua = `return {\n\t["stored_key"] = "${stored}";\n\t["server_key"] = "${hmac("Server Key").toString("hex")}";\n\t["salt"] = "${salt}";\n\t["iteration_count"] = ${ITERATIONS};\n};\n`;
    await writeFile(join(dir, `${user}.dat`), lua);
  }
}

interface Member {
  device: TrackedDevice;
  agent: AgentProcess;
  startMs: number;
  sub: XmppSubscriber;
}

async function startFleet(
  server: ProsodyServer,
  base: string,
  subs: XmppSubscriber[],
  n: number,
  opts: { rate: number; staggerMs: number },
): Promise<Member[]> {
  const starting: Array<Promise<Member>> = [];
  for (let i = 0; i < n; i++) {
    const sub = subs[Math.floor(i / AGENTS_PER_SUBSCRIBER)]!;
    const dir = join(base, `a${i}`);
    starting.push(
      (async () => {
        await mkdir(dir);
        const link = join(dir, "tty");
        const device = await startDevice(link, opts.rate, `dev-${i}`, i + 1);
        const setup = {
          name: `agent${i}`,
          dir,
          link,
          xmpp: { service: server.service, caFile: server.caFile },
          subscriber: sub.peer.jid,
          reconnectMaxSeconds: 30,
        };
        const { agent, startMs } = await startAgentProcess(setup, sub, 120_000);
        return { device, agent, startMs, sub };
      })(),
    );
    await sleep(opts.staggerMs);
  }
  // Settled, not all: one failed start must not leave the others running unseen.
  const settled = await Promise.allSettled(starting);
  const members = settled.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = settled.flatMap((r) => (r.status === "rejected" ? [r.reason as Error] : []));
  if (failed.length === 0) return members;
  await Promise.all(members.map((m) => m.agent.stop()));
  await Promise.all(members.map((m) => m.device.emulator.stop()));
  throw new Error(`${failed.length} of ${n} agents did not start; first: ${failed[0]?.message}`);
}

async function prosodyPid(server: ProsodyServer): Promise<number> {
  return Number((await readFile(join(server.dir, "prosody.pid"), "utf8")).trim());
}

async function measure(members: Member[], server: ProsodyServer, seconds: number) {
  const pids = members.map((m) => m.agent.pid);
  const serverPid = await prosodyPid(server);
  const cpu = (pid: number) => sample(pid).cpuSeconds;
  const from = performance.now();
  const agentsCpu0 = pids.reduce((s, pid) => s + cpu(pid), 0);
  const serverCpu0 = cpu(serverPid);
  await sleep(seconds * 1000);
  const to = performance.now();
  const agentsCpu = pids.reduce((s, pid) => s + cpu(pid), 0) - agentsCpu0;
  const serverCpu = cpu(serverPid) - serverCpu0;
  const rss = pids.map((pid) => sample(pid).rssMb);
  await sleep(3_000); // readings written at the end of the window get time to arrive
  let written = 0;
  let delivered = 0;
  let arrivedInWindow = 0;
  for (const m of members) {
    for (const [k, t] of m.device.sent) {
      if (t < from || t >= to) continue;
      written++;
      if (m.sub.arrivals.at.has(k)) delivered++;
    }
  }
  for (const sub of new Set(members.map((m) => m.sub)))
    arrivedInWindow += sub.arrivals.countBetween(from, to);
  const elapsed = (to - from) / 1000;
  return {
    rss_median_mb: round(median(rss)),
    rss_max_mb: round(Math.max(...rss)),
    rss_total_mb: round(rss.reduce((s, r) => s + r, 0)),
    agents_cpu_percent: round((agentsCpu / elapsed) * 100, 1),
    written,
    delivered,
    completeness: round(delivered / Math.max(1, written), 4),
    server_messages_per_s: round(arrivedInWindow / elapsed, 1),
    prosody_rss_mb: round(sample(serverPid).rssMb),
    prosody_cpu_percent: round((serverCpu / elapsed) * 100, 1),
  };
}

async function main(): Promise<void> {
  const opts = numberArgs(process.argv.slice(2), {
    agents: 50,
    seconds: 60,
    rate: 1,
    staggerMs: 250,
  });
  const n = Math.round(opts.agents);
  emit(machine());
  const server = await startProsody();
  const base = await mkdtemp(join(tmpdir(), "iot-bench-fleet-"));
  const subs: XmppSubscriber[] = [];
  let members: Member[] = [];
  try {
    const subCount = Math.ceil(n / AGENTS_PER_SUBSCRIBER);
    const accounts: Array<[string, string]> = [];
    for (let i = 0; i < n; i++) accounts.push([`agent${i}`, `agent${i}-secret`]);
    for (let i = 0; i < subCount; i++) accounts.push([`sub${i}`, `sub${i}-secret`]);
    const registered = performance.now();
    await registerMany(server, accounts);
    const registerMs = performance.now() - registered;
    await server.start();
    for (let i = 0; i < subCount; i++)
      subs.push(await xmppSubscriber(server, `sub${i}`, `sub${i}-secret`));
    const launched = performance.now();
    members = await startFleet(server, base, subs, n, opts);
    const allOnlineS = (performance.now() - launched) / 1000;
    await sleep(5_000);
    const figures = await measure(members, server, opts.seconds);
    const starts = members.map((m) => m.startMs);
    emit({
      bench: "fleet",
      build: agentBuild(),
      agents: n,
      subscribers: subCount,
      rate_hz_each: opts.rate,
      seconds: opts.seconds,
      register_ms_per_account: round(registerMs / accounts.length, 3),
      all_online_s: round(allOnlineS, 1),
      start_median_ms: round(median(starts)),
      start_max_ms: round(Math.max(...starts)),
      ...figures,
      load1: load1(),
    });
  } finally {
    await Promise.all(members.map((m) => m.agent.stop()));
    await Promise.all(members.map((m) => m.device.emulator.stop()));
    await Promise.all(subs.map((s) => s.stop()));
    await server.destroy();
    // A cleanup failure must not hide why the run failed.
    await rm(base, { recursive: true, force: true }).catch((e: Error) =>
      process.stderr.write(`cleanup: ${e.message}\n`),
    );
  }
}

await main();
