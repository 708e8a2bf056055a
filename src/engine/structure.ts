/**
 * Nested output structures (objects, arrays, tensors, plain values) as flat, named graph outputs
 * and back: a tensor leaf is named by its path (`losses/total_loss`, `outputs/logits`,
 * `state/buffer`, `boxes/0`).
 */
import * as tf from '@tensorflow/tfjs-core';

/** A leaf of an output structure: the output index that holds it, or a plain value. */
export type OutputTemplate =
  | { tensor: number }
  | { value: unknown }
  | { array: OutputTemplate[] }
  | { object: [string, OutputTemplate][] };

export function isTensor(x: unknown): x is tf.Tensor {
  return x instanceof tf.Tensor;
}

/** The template of `o`; `emit` receives each tensor leaf with its path and returns its index. */
export function templateOf(
  o: unknown,
  emit: (t: tf.Tensor, path: string) => number,
  path = '',
): OutputTemplate {
  const child = (k: string | number) => (path ? `${path}/${k}` : String(k));
  if (isTensor(o)) return { tensor: emit(o, path || 'output') };
  if (Array.isArray(o)) return { array: o.map((v, i) => templateOf(v, emit, child(i))) };
  if (o && typeof o === 'object') {
    return {
      object: Object.entries(o).map(([k, v]) => [k, templateOf(v, emit, child(k))]),
    };
  }
  return { value: o };
}

/** The structure of `t` with each tensor leaf from `tensorAt`. */
export function rebuild(t: OutputTemplate, tensorAt: (i: number) => tf.Tensor): unknown {
  if ('tensor' in t) return tensorAt(t.tensor);
  if ('array' in t) return t.array.map((v) => rebuild(v, tensorAt));
  if ('object' in t) return Object.fromEntries(t.object.map(([k, v]) => [k, rebuild(v, tensorAt)]));
  return t.value;
}

/** Disposes every tensor of a nested structure. */
export function disposeTensors(o: unknown): void {
  if (isTensor(o)) o.dispose();
  else if (o && typeof o === 'object') for (const v of Object.values(o)) disposeTensors(v);
}
