/**
 * Timing and profile helpers of the engine benchmark: the median of steady iterations after a
 * warm-up, and ORT's per-op-type kernel time from a profile written by `enableProfiling`.
 */
import { readFileSync } from 'node:fs';

/** Median of a non-empty list. */
export function median(values: number[]): number {
  if (values.length === 0) throw new Error('median of an empty list');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Runs `once` `warmup` times untimed, then `steps` times; returns each steady time in ms. */
export async function timeIterations(
  once: () => Promise<void>,
  warmup: number,
  steps: number,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    await once();
    times.push(performance.now() - start);
  }
  return times;
}

/**
 * Times `a` and `b` in alternation (a, b, a, b, ...) after `warmup` runs of each, so drifts in
 * the machine's speed (frequency, other processes) fall on both sides alike.
 */
export async function timeAlternating(
  a: () => Promise<void>,
  b: () => Promise<void>,
  warmup: number,
  steps: number,
): Promise<[number[], number[]]> {
  for (let i = 0; i < warmup; i++) {
    await a();
    await b();
  }
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < steps; i++) {
    for (const [k, once] of [a, b].entries()) {
      const start = performance.now();
      await once();
      times[k].push(performance.now() - start);
    }
  }
  return times;
}

export interface OpTypeTime {
  op: string;
  /** Kernel time per run, ms. */
  msPerRun: number;
  /** Share of all kernel time, %. */
  percent: number;
}

/**
 * Kernel time per ONNX op type from an ORT profile (Chrome-trace JSON: `Node` events named
 * `<node>_kernel_time` with `args.op_name`, one `Session`/`model_run` event per run), sorted by
 * time, and the number of runs it covers.
 */
export function opTypeProfile(file: string): {
  runs: number;
  totalMsPerRun: number;
  ops: OpTypeTime[];
} {
  const events = JSON.parse(readFileSync(file, 'utf8')) as {
    cat: string;
    name: string;
    dur: number;
    args?: { op_name?: string };
  }[];
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').length;
  if (runs === 0) throw new Error(`${file}: the ORT profile holds no model_run event`);
  const byOp = new Map<string, number>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const op = e.args?.op_name ?? '?';
    byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
  }
  const totalUs = [...byOp.values()].reduce((a, b) => a + b, 0);
  const ops = [...byOp]
    .sort((a, b) => b[1] - a[1])
    .map(([op, us]) => ({ op, msPerRun: us / runs / 1000, percent: (100 * us) / totalUs }));
  return { runs, totalMsPerRun: totalUs / runs / 1000, ops };
}
