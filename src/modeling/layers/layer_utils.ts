/** Small helpers shared by the layer modules: option normalisation and Keras default names. */
import type { Layer, LayerOptions } from '../../core/layer.js';

/**
 * Gives a layer the Keras default name of its class (e.g. `conv2d`, `max_pooling2d`) unless the
 * caller named it. The name stays non-explicit, so the parent still makes it unique (`conv2d_1`).
 */
export function setKerasDefaultName(
  layer: Layer<unknown, unknown>,
  opts: LayerOptions,
  kerasName: string,
): void {
  if (opts.name === undefined) {
    layer.name = kerasName;
    layer.attr = kerasName;
  }
}

/**
 * Expands `n` or an n-tuple into an n-tuple of positive integers; `what` names the field in errors
 * (e.g. "Conv2D 'conv2d': kernelSize").
 */
export function toTuple(value: number | readonly number[], n: number, what: string): number[] {
  const out = typeof value === 'number' ? new Array<number>(n).fill(value) : [...value];
  if (out.length !== n) {
    throw new Error(`${what} must be a number or ${n} numbers, got [${out.join(', ')}]`);
  }
  for (const v of out) {
    if (!Number.isInteger(v) || v < 1) {
      throw new Error(`${what} must hold positive integers, got [${out.join(', ')}]`);
    }
  }
  return out;
}

export type Padding = 'same' | 'valid';

/** Validates a padding option ('same' or 'valid'). */
export function checkPadding(padding: string, what: string): Padding {
  if (padding !== 'same' && padding !== 'valid') {
    throw new Error(`${what} must be 'same' or 'valid', got '${padding}'`);
  }
  return padding;
}

/** Validates a rate in [0, 1) (dropout rates). */
export function checkRate(rate: number, what: string): number {
  if (!(rate >= 0 && rate < 1)) throw new Error(`${what} must be in [0, 1), got ${rate}`);
  return rate;
}
