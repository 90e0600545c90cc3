/**
 * `npm run soak [-- --minutes M] [-- --keep]`: the fault scenarios of faults.test.ts with large
 * counts (about M minutes in all, default 10; also SOAK_MINUTES), then a mixed run with every
 * fault at random. Progress goes to stderr; stdout gets ONE JSON summary:
 *
 *   {"lost":0,"duplicates":N,"accepted":N,"received":N,"orderViolations":0,
 *    "recoveryP50Seconds":x,"recoveryP99Seconds":y,"caughtUpP50Seconds":x,"caughtUpP99Seconds":y,
 *    "faults":{"agentKills":n,"serverRestarts":n,"unplugs":n,"reboots":n,"outboxBoundHits":n},
 *    "dropped":n,"durationSeconds":s,"scenarios":[...],"errors":[...]}
 *
 * recovery: from Prosody back up to the consumer's first reading; caughtUp: until everything
 * accepted before then had arrived. outboxBoundHits counts "outbox dropped readings" lines.
 * Exit 1 if a reading was lost, order was broken, or a scenario failed to run.
 */
import { parseArgs } from "node:util";
import { percentile } from "./analysis.js";
import * as scenarios from "./scenarios.js";
import type { FaultCounts, RunOptions, ScenarioResult } from "./scenarios.js";

const { values } = parseArgs({
  options: { minutes: { type: "string" }, keep: { type: "boolean" } },
});
const minutes = Number(values.minutes ?? process.env.SOAK_MINUTES ?? 10);
if (!(minutes > 0)) {
  process.stderr.write("soak: --minutes must be a positive number\n");
  process.exit(2);
}
const budget = minutes * 60_000;
const started = Date.now();
const stamp = () => new Date().toISOString().slice(11, 19);
const note = (line: string) => process.stderr.write(`${stamp()} ${line}\n`);
const options: RunOptions = { note, keep: values.keep === true, drainMs: 120_000 };
/** Fault cycles fitting into `share` of the budget at `cycleMs` each (setup ~10 s aside). */
const cycles = (share: number, cycleMs: number) =>
  Math.max(1, Math.floor((budget * share - 10_000) / cycleMs));

const plan: Array<[string, () => Promise<ScenarioResult>]> = [
  [
    "agent SIGKILLs",
    () => scenarios.agentKills({ kills: cycles(0.22, 6500), runMs: 4000, downMs: 500 }, options),
  ],
  [
    "server restarts",
    () =>
      scenarios.serverRestarts(
        { restarts: cycles(0.22, 8000), runMs: 4000, downMs: 2000 },
        options,
      ),
  ],
  [
    "device unplugs and reboots",
    () =>
      scenarios.deviceFaults(
        { reboots: cycles(0.16, 9000), runMs: 8000, unplugEveryS: 5 },
        options,
      ),
  ],
  [
    "outbox bound",
    () =>
      scenarios.outboxBound(
        { hits: cycles(0.12, 9000), extraMs: 2000, runMs: 3000, maxMegabytes: 0.02 },
        options,
      ),
  ],
  [
    "mixed faults",
    () =>
      scenarios.mixed(
        { durationMs: Math.max(10_000, budget * 0.28 - 15_000), gapMs: 3000 },
        options,
      ),
  ],
];

const results: ScenarioResult[] = [];
const errors: string[] = [];
for (const [what, start] of plan) {
  note(`--- ${what}`);
  try {
    const r = await start();
    results.push(r);
    const { analysis: a } = r;
    note(
      `${r.name}: accepted ${a.accepted} lost ${a.lost} dropped ${a.dropped} duplicates ` +
        `${a.duplicates} order violations ${a.orderViolations} faults ${JSON.stringify(r.faults)}` +
        `${r.dir ? ` files in ${r.dir}` : ""}`,
    );
    if (r.agentExit !== 0) errors.push(`${r.name}: the agent exited with ${r.agentExit}`);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    errors.push(`${what}: ${message}`);
    note(`${what} failed: ${message}`);
  }
}

const sum = (f: (r: ScenarioResult) => number) => results.reduce((n, r) => n + f(r), 0);
const faults: FaultCounts = {
  agentKills: sum((r) => r.faults.agentKills),
  serverRestarts: sum((r) => r.faults.serverRestarts),
  unplugs: sum((r) => r.faults.unplugs),
  reboots: sum((r) => r.faults.reboots),
  outboxBoundHits: sum((r) => r.faults.outboxBoundHits),
};
const recoveries = results.flatMap((r) => r.recoveries);
const first = recoveries.map((r) => r.firstReadingSeconds);
const caughtUp = recoveries.map((r) => r.caughtUpSeconds);
const round = (n: number | undefined) => (n === undefined ? null : Math.round(n * 1000) / 1000);
const summary = {
  lost: sum((r) => r.analysis.lost),
  duplicates: sum((r) => r.analysis.duplicates),
  accepted: sum((r) => r.analysis.accepted),
  received: sum((r) => r.analysis.received),
  orderViolations: sum((r) => r.analysis.orderViolations),
  recoveryP50Seconds: round(percentile(first, 50)),
  recoveryP99Seconds: round(percentile(first, 99)),
  caughtUpP50Seconds: round(percentile(caughtUp, 50)),
  caughtUpP99Seconds: round(percentile(caughtUp, 99)),
  faults,
  dropped: sum((r) => r.analysis.dropped),
  durationSeconds: Math.round((Date.now() - started) / 1000),
  scenarios: results.map((r) => ({
    name: r.name,
    accepted: r.analysis.accepted,
    lost: r.analysis.lost,
    lostSample: r.analysis.lostSample,
    duplicates: r.analysis.duplicates,
    orderViolations: r.analysis.orderViolations,
    boots: r.analysis.boots,
    seconds: Math.round(r.seconds),
    ...(r.dir ? { dir: r.dir } : {}),
  })),
  errors,
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
process.exitCode = summary.lost > 0 || summary.orderViolations > 0 || errors.length > 0 ? 1 : 0;
