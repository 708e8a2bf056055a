/**
 * tf.stop_gradient for a whole computation: runs `fn` with tfjs's gradient tape off, so its
 * results are constants to any enclosing gradient (tfjs-core has no stop_gradient op). Unlike a
 * zero-gradient identity, this also keeps tfjs from backpropagating into the non-differentiable
 * ops inside (comparisons, top-k and NMS indices, integer gathers), which TF never visits either.
 * The engine's trace records kernels, not the tape, so compiled steps run the same computation.
 */
import * as tf from '@tensorflow/tfjs-core';

interface TapeState {
  gradientDepth: number;
}

export function withoutGradient<T>(fn: () => T): T {
  const state = (tf.engine() as unknown as { state: TapeState }).state;
  const depth = state.gradientDepth;
  state.gradientDepth = 0;
  try {
    return fn();
  } finally {
    state.gradientDepth = depth;
  }
}
