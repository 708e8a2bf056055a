/**
 * Random tensor ops that a step compiler can see.
 *
 * tfjs random ops (`tf.randomUniform`) build their values in JavaScript and hand them to the
 * backend as a new tensor, with no kernel call; a recorder of kernel calls would take such a tensor
 * for a constant and freeze a dropout mask into a compiled graph. Layers therefore draw random
 * tensors through {@link randomUniform}, which tells an installed {@link RandomObserver} (the
 * engine's tracer) about every draw: the tensor, its shape and range and the stream it came from.
 * The compiled step then feeds a fresh draw from the same stream on every step, so eager and
 * compiled runs draw the same numbers.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from './random.js';

/** One random tensor drawn through {@link randomUniform}. */
export interface RandomDraw {
  /** The drawn tensor (float32). */
  tensor: tf.Tensor;
  shape: number[];
  minval: number;
  maxval: number;
  /** The stream the op seed was drawn from. */
  rng: Rng;
}

/** Called once per draw while installed. */
export type RandomObserver = (draw: RandomDraw) => void;

let observer: RandomObserver | null = null;

/** Installs (or, with null, removes) the observer; returns the one it replaces. */
export function setRandomObserver(next: RandomObserver | null): RandomObserver | null {
  const previous = observer;
  observer = next;
  return previous;
}

/**
 * The values {@link randomUniform} produces for an op seed: U[minval, maxval) of `shape`, float32
 * (tfjs's seeded generator). Exposed so a compiled step can redraw them outside any trace.
 */
export function uniformFromSeed(shape: number[], seed: number, minval = 0, maxval = 1): tf.Tensor {
  return tf.randomUniform(shape, minval, maxval, 'float32', seed);
}

/**
 * U[minval, maxval) of `shape` (float32), with the op seed drawn from `rng` (one `rng.seed()` per
 * call). Reported to the installed observer, if any.
 */
export function randomUniform(shape: number[], rng: Rng, minval = 0, maxval = 1): tf.Tensor {
  const tensor = uniformFromSeed(shape, rng.seed(), minval, maxval);
  observer?.({ tensor, shape: [...shape], minval, maxval, rng });
  return tensor;
}
