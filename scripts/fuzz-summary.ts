/**
 * Case counts of the fuzz suite (test/fuzz), per surface and per property.
 *
 *   tsx scripts/fuzz-summary.ts FILE     totals of a FUZZ_SUMMARY file written by an earlier run
 *   tsx scripts/fuzz-summary.ts --run    runs `vitest run test/fuzz` (FUZZ_RUNS default 100000,
 *                                        override it in the environment), then prints the totals
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** One line of a FUZZ_SUMMARY file (written by test/fuzz/runs.ts). */
export interface CaseRecord {
  surface: string;
  property: string;
  cases: number;
  ms: number;
}

const LONG_RUNS = "100000";

function readRecords(file: string): CaseRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line, i) => {
      const r = JSON.parse(line) as Partial<CaseRecord>;
      if (typeof r.surface !== "string" || typeof r.cases !== "number") {
        throw new Error(`${file}:${i + 1}: not a fuzz case record: ${line.slice(0, 80)}`);
      }
      return { surface: r.surface, property: r.property ?? "?", cases: r.cases, ms: r.ms ?? 0 };
    });
}

function printSummary(records: CaseRecord[]): void {
  const surfaces = new Map<string, CaseRecord[]>();
  for (const r of records) surfaces.set(r.surface, [...(surfaces.get(r.surface) ?? []), r]);
  const width = Math.max(20, ...records.map((r) => r.property.length + 2));
  let total = 0;
  for (const [surface, list] of surfaces) {
    const cases = list.reduce((n, r) => n + r.cases, 0);
    const seconds = list.reduce((n, r) => n + r.ms, 0) / 1000;
    total += cases;
    console.log(`${surface}: ${cases} cases in ${seconds.toFixed(1)} s`);
    for (const r of list) {
      console.log(
        `  ${r.property.padEnd(width)}${String(r.cases).padStart(9)}  ${(r.ms / 1000).toFixed(1)} s`,
      );
    }
  }
  console.log(`total: ${total} cases over ${surfaces.size} surfaces`);
}

function runSuite(): number {
  const dir = mkdtempSync(join(tmpdir(), "fuzz-summary-"));
  const file = join(dir, "cases.jsonl");
  try {
    const env = {
      ...process.env,
      FUZZ_SUMMARY: file,
      FUZZ_RUNS: process.env.FUZZ_RUNS ?? LONG_RUNS,
    };
    console.log(`fuzzing with FUZZ_RUNS=${env.FUZZ_RUNS}`);
    const vitest = spawnSync("npx", ["vitest", "run", "test/fuzz"], { stdio: "inherit", env });
    printSummary(readRecords(file));
    return vitest.status ?? 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const [arg] = process.argv.slice(2);
if (arg === "--run") {
  process.exitCode = runSuite();
} else if (arg !== undefined) {
  printSummary(readRecords(arg));
} else {
  console.error("usage: fuzz-summary.ts FILE | --run");
  process.exitCode = 2;
}
