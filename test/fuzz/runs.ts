/**
 * Shared run count and case accounting of the fuzz suite. `FUZZ_RUNS` sets the cases of a cheap
 * property (default: what keeps the whole suite well under 40 s on two cores); costly properties
 * take a share of it. With `FUZZ_SUMMARY` set, each property appends one JSON line
 * `{surface, property, cases, ms}` to that file, which scripts/fuzz-summary.ts totals.
 */
import { appendFileSync } from "node:fs";
import fc from "fast-check";
import type { CaseRecord } from "../../scripts/fuzz-summary.js";

const DEFAULT_RUNS = 2000;
/** vitest's own default for this project; fuzz tests scale it with the run count. */
const BASE_TIMEOUT_MS = 20_000;

function parseRuns(raw: string | undefined): number {
  if (raw === undefined || raw === "") return DEFAULT_RUNS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`FUZZ_RUNS must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return n;
}

export const FUZZ_RUNS = parseRuns(process.env.FUZZ_RUNS);

/** Cases for a property whose cases cost about 1/share of a cheap one's; at least `floor`. */
export function runs(share = 1, floor = 10): number {
  return Math.max(floor, Math.round(FUZZ_RUNS * share));
}

/** Per-test timeout: the project default at the default run count, proportionally more above. */
export const FUZZ_TIMEOUT_MS = Math.max(
  BASE_TIMEOUT_MS,
  Math.ceil((BASE_TIMEOUT_MS * FUZZ_RUNS) / DEFAULT_RUNS),
);

/** The value type of an arbitrary. */
export type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;

/** Appends one property's case count to the FUZZ_SUMMARY file, if one is named. */
export function recordCases(record: CaseRecord): void {
  const file = process.env.FUZZ_SUMMARY;
  if (file === undefined || file === "") return;
  // One short line per write: O_APPEND keeps lines from parallel workers whole.
  appendFileSync(file, `${JSON.stringify(record)}\n`);
}

function report<Ts>(details: fc.RunDetails<Ts>, surface: string, property: string): void {
  if (!details.failed) return;
  const message = fc.defaultReportMessage(details) ?? "property failed";
  const cause = details.errorInstance;
  const why = cause instanceof Error ? cause.message : String(cause);
  throw new Error(`${surface} / ${property}: ${message}\nCaused by: ${why}`, { cause });
}

/** fc.assert, plus the number of cases run recorded under surface and property name. */
export function fuzz<Ts extends unknown[]>(
  surface: string,
  property: string,
  prop: fc.IProperty<Ts>,
  params: fc.Parameters<Ts> = {},
): number {
  const started = performance.now();
  const details = fc.check(prop, { numRuns: runs(), ...params });
  recordCases({ surface, property, cases: details.numRuns, ms: performance.now() - started });
  report(details, surface, property);
  return details.numRuns;
}

/** The async counterpart of fuzz(). */
export async function fuzzAsync<Ts extends unknown[]>(
  surface: string,
  property: string,
  prop: fc.IAsyncProperty<Ts>,
  params: fc.Parameters<Ts> = {},
): Promise<number> {
  const started = performance.now();
  const details = await fc.check(prop, { numRuns: runs(), ...params });
  recordCases({ surface, property, cases: details.numRuns, ms: performance.now() - started });
  report(details, surface, property);
  return details.numRuns;
}
