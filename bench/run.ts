/**
 * `npm run bench`: runs every benchmark module and prints one JSON line per result on stdout, so
 * the output can be collected by scripts; warnings go to stderr.
 */
import { benchCodec, DECODE_TARGET_LINES_PER_S } from "./codec.js";
import { benchOutbox } from "./outbox.js";
import { benchProcessPipeline } from "./process-pipeline.js";
import { benchSizes } from "./sizes.js";
import { load1, machine, type Result } from "./support/proc.js";
import { benchXmppPipeline } from "./xmpp-pipeline.js";

interface Target {
  bench: string;
  metric: string;
  min: number;
}

interface BenchModule {
  run: () => Promise<Result[]>;
  targets: Target[];
}

/** Add new benchmark modules here. */
const MODULES: BenchModule[] = [
  {
    run: benchCodec,
    targets: [{ bench: "decode+validate", metric: "lines_per_s", min: DECODE_TARGET_LINES_PER_S }],
  },
  {
    run: benchOutbox,
    targets: [{ bench: "outbox steady 100/s", metric: "appends_per_s", min: 95 }],
  },
  { run: benchXmppPipeline, targets: [] },
  { run: benchProcessPipeline, targets: [] },
  { run: benchSizes, targets: [] },
];

function missedTargets(results: Result[], targets: Target[]): string[] {
  const warnings: string[] = [];
  for (const target of targets) {
    const value = results.find((r) => r.bench === target.bench)?.[target.metric];
    if (typeof value === "number" && value < target.min) {
      warnings.push(
        `warning: ${target.bench} ${target.metric} ${value} is below the target ${target.min}`,
      );
    }
  }
  return warnings;
}

async function main(): Promise<void> {
  process.stdout.write(JSON.stringify(machine()) + "\n");
  for (const module of MODULES) {
    const results = await module.run();
    // The load average at the end of each module: figures taken on a busy machine say so.
    const load = load1();
    for (const result of results) {
      process.stdout.write(JSON.stringify({ ...result, load1: result.load1 ?? load }) + "\n");
    }
    for (const warning of missedTargets(results, module.targets))
      process.stderr.write(warning + "\n");
  }
}

await main();
