/* global process, setInterval */
/**
 * Preloaded with `node --import` into a process under measurement: appends its V8 heap figures to
 * $BENCH_HEAP_FILE every $BENCH_HEAP_MS (default 1000) ms, since the health endpoint has no
 * process metrics. Plain JavaScript so it also loads in front of the bundle, without tsx.
 */
import { appendFileSync } from "node:fs";

const file = process.env.BENCH_HEAP_FILE;
if (file) {
  const every = Number(process.env.BENCH_HEAP_MS ?? 1000);
  const write = () => {
    const m = process.memoryUsage();
    const line = { t: Date.now(), heapUsed: m.heapUsed, heapTotal: m.heapTotal, rss: m.rss };
    appendFileSync(file, JSON.stringify(line) + "\n");
  };
  // unref: the probe must never keep the process alive or change when it exits.
  setInterval(write, every).unref();
}
