/**
 * The Node runtime of the engine: onnxruntime-node, the one place that imports it (eslint
 * forbids the import elsewhere in src). ./session.ts loads this module only when no runtime is
 * passed, so a browser build that passes onnxruntime-web never pulls it in.
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import type { OrtRuntime } from './session.js';

export const nodeRuntime: OrtRuntime = ort;

/** Threads of ORT's intra-op pool when none are given: every core. */
export function defaultThreads(): number {
  return availableParallelism();
}
