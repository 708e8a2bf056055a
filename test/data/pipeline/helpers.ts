/** Helpers for the pipeline tests: the fixture module's URL and batch readers. */
import type { HostBatch, MapFnRef, ParallelPipeline } from '../../../src/data/pipeline/index.js';
import type { ProbeOptions } from './fixtures/map_fns.js';

/** `.ts` under tsx, `.js` in dist/. */
const EXT = /\.ts$/.test(new URL(import.meta.url).pathname) ? '.ts' : '.js';

export const FIXTURE_MODULE = new URL(`./fixtures/map_fns${EXT}`, import.meta.url).href;

export function probe(options: ProbeOptions = {}): MapFnRef {
  return { module: FIXTURE_MODULE, factory: 'makeProbeMap', options };
}

/** Takes `n` batches (fails if the pipeline ends first). */
export async function take(p: ParallelPipeline, n: number): Promise<HostBatch[]> {
  const out: HostBatch[] = [];
  for (let i = 0; i < n; i++) {
    const b = await p.next();
    if (!b) throw new Error(`pipeline ended after ${i} batches, wanted ${n}`);
    out.push(b);
  }
  return out;
}

/** All batches until the pipeline returns null. */
export async function drain(p: ParallelPipeline): Promise<HostBatch[]> {
  const out: HostBatch[] = [];
  for (let b = await p.next(); b; b = await p.next()) out.push(b);
  return out;
}

export const ids = (batches: HostBatch[]): number[] => batches.flatMap((b) => [...b.id.data]);

/** A batch as comparable plain data (feature → shape + bytes), for byte-identity checks. */
export function batchBytes(
  b: HostBatch,
): Record<string, { shape: number[]; type: string; bytes: number[] }> {
  const out: Record<string, { shape: number[]; type: string; bytes: number[] }> = {};
  for (const [k, f] of Object.entries(b)) {
    out[k] = {
      shape: f.shape,
      type: f.data.constructor.name,
      bytes: [...new Uint8Array(f.data.buffer, f.data.byteOffset, f.data.byteLength)],
    };
  }
  return out;
}
