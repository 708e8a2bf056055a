/**
 * The capture shared by compiled steps and compiled models: a shape-only {@link Trace} on the
 * `traceOn` backend, with the checks that make a capture unusable.
 */
import * as tf from '@tensorflow/tfjs-core';
import { prepareTfjsBackend } from '../core/backend/index.js';
import type { Rng } from '../core/random.js';
import { uniformFromSeed } from '../core/random_ops.js';
import { Trace, type TracedRandom } from './trace.js';

/**
 * The tfjs backend a capture records on: 'cpu' (default), 'wasm', or 'active' (keep the active
 * backend). The capture is shape-only (TraceOptions.shapeOnly in ./trace.ts): convolutions,
 * matrix products, elementwise and reduction kernels are not computed, so it costs little on
 * either backend (cpu was as fast as wasm or faster: demo 1.87 vs 2.01 s first step); its memory
 * is every intermediate of one step, which on cpu lives in ordinary ArrayBuffers while the wasm
 * heap stops at 4 GiB (a ResNet-50 224 training step at batch 8 outgrows it).
 */
export type TraceOn = 'cpu' | 'wasm' | 'active';

/**
 * A shape-only trace on the `traceOn` backend (switched to for the capture; `restore` switches
 * back). Its lowering reproduces the semantics of the backend that was active, where eager work
 * runs.
 */
export async function startCapture(
  traceOn: TraceOn = 'cpu',
): Promise<{ trace: Trace; restore: () => Promise<void> }> {
  const active = tf.getBackend();
  const target = traceOn === 'active' ? active : traceOn;
  const semanticsOf = active === 'cpu' || active === 'wasm' ? active : undefined;
  const trace = new Trace({ shapeOnly: true, semanticsOf });
  if (target === active) return { trace, restore: async () => {} };
  if (target !== 'cpu' && target !== 'wasm') {
    throw new Error(`engine: cannot trace on the tfjs backend '${target}' (traceOn: cpu or wasm)`);
  }
  // Registered as initBackend does it (no tfjs Node banner from the cpu backend).
  await prepareTfjsBackend(target);
  await tf.setBackend(target);
  return {
    trace,
    restore: async () => {
      await tf.setBackend(active);
    },
  };
}

/** Why a finished capture cannot be compiled (JS reads of traced values, unbound variables). */
export function captureRefusal(trace: Trace, bound: string): string | null {
  if (trace.dataReads.length) {
    return `it reads traced values in JavaScript (${trace.dataReads.slice(0, 3).join('; ')})`;
  }
  if (trace.unboundVariables.length) {
    return `it reads variables that are not ${bound} (${trace.unboundVariables.slice(0, 3).join(', ')})`;
  }
  return null;
}

/** Tensors of `inputs` bound to `trace` under `prefix + key`, copying any that share a buffer. */
export function bindTensors(
  trace: Trace,
  inputs: Record<string, tf.Tensor>,
  prefix = '',
): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const key of Object.keys(inputs).sort()) {
    let t = inputs[key];
    if (trace.isBound(t)) t = tf.tensor(t.dataSync().slice(), t.shape, t.dtype);
    trace.bindInput(`${prefix}${key}`, t);
    out[key] = t;
  }
  return out;
}

/** Replaces a variable's buffer by a private copy when another bound tensor shares it. */
export function ownBuffers(variables: { variable: tf.Variable }[]): void {
  const seen = new Set<object>();
  for (const { variable: v } of variables) {
    if (seen.has(v.dataId)) {
      tf.tidy(() => v.assign(tf.tensor(v.dataSync().slice(), v.shape, v.dtype)));
    }
    seen.add(v.dataId);
  }
}

/** Input signature of named tensors: keys, shapes and dtypes. */
export function signatureOf(inputs: Record<string, tf.Tensor>): string {
  return Object.keys(inputs)
    .sort()
    .map((k) => `${k}:${inputs[k].shape.join('x')}:${inputs[k].dtype}`)
    .join('|');
}

/**
 * The random inputs of one compiled run: every traced draw consumes one seed of its stream, live
 * or not, exactly as the eager layers do; the live ones (graph inputs) are drawn, by draw index.
 */
export function drawRandoms(
  randoms: TracedRandom[],
  streams: Rng[],
  live: Set<number>,
): Map<number, tf.Tensor> {
  const drawn = new Map<number, tf.Tensor>();
  randoms.forEach((r, i) => {
    const seed = streams[i].seed();
    if (live.has(i)) drawn.set(i, uniformFromSeed(r.shape, seed, r.minval, r.maxval));
  });
  return drawn;
}
