/**
 * Stacking mapped examples into a batch, padding the features that have a variable first
 * dimension.
 */
import type { FeatureData, FeatureMap, HostBatch, PaddingSpec } from './types.js';

type FeatureCtor = Float32ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor;

function ctorOf(data: FeatureData): FeatureCtor {
  if (data instanceof Float32Array) return Float32Array;
  if (data instanceof Int32Array) return Int32Array;
  return Uint8Array;
}

const shapeText = (shape: readonly number[]): string => `[${shape.join(', ')}]`;
const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** Name of the true-length feature that accompanies padded feature `name`. */
export function lengthFeatureName(name: string): string {
  return `num_${name}`;
}

/** Checks padding specs once: positive integer maxLength, finite value. */
export function validatePadding(padding: Record<string, PaddingSpec>): void {
  for (const [name, spec] of Object.entries(padding)) {
    if (!spec || !Number.isInteger(spec.maxLength) || spec.maxLength < 1) {
      throw new RangeError(
        `padding.${name}.maxLength must be a positive integer, got ${JSON.stringify(spec?.maxLength)}`,
      );
    }
    if (typeof spec.value !== 'number' || !Number.isFinite(spec.value)) {
      throw new RangeError(
        `padding.${name}.value must be a finite number, got ${JSON.stringify(spec.value)}`,
      );
    }
  }
}

function checkPadValue(name: string, ctor: FeatureCtor, value: number): void {
  if (ctor === Float32Array) return;
  const [lo, hi] = ctor === Uint8Array ? [0, 255] : [-(2 ** 31), 2 ** 31 - 1];
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw new RangeError(
      `padding.${name}.value ${value} does not fit feature '${name}' of type ${ctor.name}`,
    );
  }
}

/**
 * The array whose consecutive slots the examples' `name` data already are, in example order
 * (MapContext.allocFloat32), or null: such a batch needs no copy.
 */
function slotsOfOneArray(
  examples: readonly FeatureMap[],
  name: string,
  size: number,
): FeatureData | null {
  const first = examples[0][name].data;
  const buffer = first.buffer;
  const bytes = size * first.BYTES_PER_ELEMENT;
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength !== examples.length * bytes)
    return null;
  for (let e = 0; e < examples.length; e++) {
    const d = examples[e][name].data;
    if (d.buffer !== buffer || d.byteOffset !== e * bytes) return null;
  }
  return new (ctorOf(first))(buffer);
}

function stackCopies(
  ctor: FeatureCtor,
  examples: readonly FeatureMap[],
  name: string,
  size: number,
): FeatureData {
  const out = new ctor(examples.length * size);
  for (let e = 0; e < examples.length; e++) out.set(examples[e][name].data, e * size);
  return out;
}

/**
 * Stacks `examples` (with their locators `wheres`) into one batch of shape [B, ...].
 *
 * Every example must have the same feature names and element types. A feature without a
 * padding entry must have the same shape in every example. A feature with one must have rank
 * >= 1 and at most `maxLength` rows; it becomes [B, maxLength, ...rest], rows past each
 * example's own filled with `value`, and `num_<feature>` (Int32Array [B]) records the true row
 * counts. Errors name the feature and the example's locator.
 */
export function stackBatch(
  examples: readonly FeatureMap[],
  wheres: readonly string[],
  padding: Record<string, PaddingSpec> = {},
): HostBatch {
  if (examples.length === 0) throw new RangeError('stackBatch: no examples');
  const first = examples[0];
  const names = Object.keys(first);
  for (let e = 1; e < examples.length; e++) {
    const keys = Object.keys(examples[e]);
    const missing = names.find((n) => !(n in examples[e]));
    const extra = keys.find((n) => !(n in first));
    if (missing !== undefined || extra !== undefined) {
      throw new Error(
        missing !== undefined
          ? `feature '${missing}' is missing from ${wheres[e]} (present in ${wheres[0]})`
          : `feature '${extra}' of ${wheres[e]} is not in ${wheres[0]}`,
      );
    }
  }
  for (const padded of Object.keys(padding)) {
    if (!(padded in first)) {
      throw new Error(
        `padding names feature '${padded}', but ${wheres[0]} has only ${names.map((n) => `'${n}'`).join(', ')}`,
      );
    }
    if (padded in first && lengthFeatureName(padded) in first) {
      throw new Error(
        `feature '${lengthFeatureName(padded)}' of ${wheres[0]} clashes with the length feature of padded feature '${padded}'`,
      );
    }
  }
  const batch: HostBatch = {};
  const b = examples.length;
  for (const name of names) {
    const ref = first[name];
    const ctor = ctorOf(ref.data);
    const spec = padding[name];
    for (let e = 1; e < b; e++) {
      const other = ctorOf(examples[e][name].data);
      if (other !== ctor) {
        throw new TypeError(
          `feature '${name}' is ${ctor.name} in ${wheres[0]} but ${other.name} in ${wheres[e]}`,
        );
      }
    }
    if (!spec) {
      for (let e = 1; e < b; e++) {
        const shape = examples[e][name].shape;
        if (!sameShape(shape, ref.shape)) {
          throw new RangeError(
            `feature '${name}' has shape ${shapeText(ref.shape)} in ${wheres[0]} but ${shapeText(shape)} in ${wheres[e]}; ` +
              'give it a padding entry or emit a fixed shape',
          );
        }
      }
      const size = ref.data.length;
      batch[name] = {
        data: slotsOfOneArray(examples, name, size) ?? stackCopies(ctor, examples, name, size),
        shape: [b, ...ref.shape],
      };
      continue;
    }
    checkPadValue(name, ctor, spec.value);
    if (ref.shape.length === 0) {
      throw new RangeError(`feature '${name}' of ${wheres[0]} is a scalar and cannot be padded`);
    }
    const rest = ref.shape.slice(1);
    const rowSize = rest.reduce((x, y) => x * y, 1);
    const out = new ctor(b * spec.maxLength * rowSize).fill(spec.value);
    const lengths = new Int32Array(b);
    for (let e = 0; e < b; e++) {
      const { data, shape } = examples[e][name];
      if (shape.length === 0 || !sameShape(shape.slice(1), rest)) {
        throw new RangeError(
          `feature '${name}' has shape ${shapeText(ref.shape)} in ${wheres[0]} but ${shapeText(shape)} in ${wheres[e]}; ` +
            'only the first dimension may vary',
        );
      }
      if (shape[0] > spec.maxLength) {
        throw new RangeError(
          `feature '${name}' of ${wheres[e]} has ${shape[0]} rows, more than padding maxLength ${spec.maxLength}`,
        );
      }
      out.set(data, e * spec.maxLength * rowSize);
      lengths[e] = shape[0];
    }
    batch[name] = { data: out, shape: [b, spec.maxLength, ...rest] };
    batch[lengthFeatureName(name)] = { data: lengths, shape: [b] };
  }
  return batch;
}
