/**
 * `tf.train.Example` and `tf.train.SequenceExample` in a plain-object form.
 *
 * A feature is `{bytesList}`, `{floatList}` or `{int64List}` (at most one; `{}` is a Feature with
 * no kind set, which TF also allows):
 *   - bytesList: Uint8Array[]                      (encode also takes strings, written as UTF-8)
 *   - floatList: number[] | Float32Array            (float32 on the wire; decoded as Float32Array)
 *   - int64List: (number | bigint)[]                (decoded as number when |v| <= 2^53 - 1,
 *                                                    else bigint)
 * Encoding writes feature keys in bytewise (UTF-8) sorted order, as TensorFlow's deterministic
 * serialisation does, so an Example TF wrote with `SerializeToString(deterministic=True)` re-encodes
 * to the same bytes.
 */
import { fromWireInt64, type Int64 } from './int64.js';
import { decodeMessage, encodeMessage, type PlainMessage } from './wire.js';

/** One feature value: at most one of the three lists. */
export interface Feature {
  bytesList?: Uint8Array[];
  floatList?: number[] | Float32Array;
  int64List?: Int64[];
}

/** A feature as accepted by the encoders (bytes may be given as strings). */
export interface FeatureInput {
  bytesList?: (Uint8Array | string)[];
  floatList?: ArrayLike<number>;
  int64List?: Int64[];
}

/** Feature name -> feature, the content of `tf.train.Features`. */
export type FeatureMap = Record<string, Feature>;
export type FeatureMapInput = Record<string, FeatureInput>;

/** A decoded `tf.train.SequenceExample`: per-example context and per-step feature lists. */
export interface SequenceExample {
  context: FeatureMap;
  featureLists: Record<string, Feature[]>;
}
export interface SequenceExampleInput {
  context?: FeatureMapInput;
  featureLists?: Record<string, FeatureInput[]>;
}

/** Shorthand for a bytes feature (strings are UTF-8 encoded). */
export function bytesFeature(...values: (Uint8Array | string)[]): Feature {
  return { bytesList: values.map(toBytes) };
}
/** Shorthand for a float feature (values are rounded to float32 on the wire). */
export function floatFeature(...values: number[]): Feature {
  return { floatList: Float32Array.from(values) };
}
/** Shorthand for an int64 feature. */
export function int64Feature(...values: Int64[]): Feature {
  return { int64List: values };
}

const utf8 = new TextEncoder();

function toBytes(v: Uint8Array | string): Uint8Array {
  return typeof v === 'string' ? utf8.encode(v) : v;
}

/** Keys of a map in TF's deterministic order: bytewise comparison of their UTF-8 encodings. */
function sortedKeys(map: object): string[] {
  return Object.keys(map)
    .map((k) => ({ k, b: Buffer.from(k, 'utf8') }))
    .sort((x, y) => Buffer.compare(x.b, y.b))
    .map((e) => e.k);
}

function featureToWire(f: FeatureInput, where: string): PlainMessage {
  if (f === null || typeof f !== 'object')
    throw new TypeError(`${where}: expected a feature object`);
  const kinds = (['bytesList', 'floatList', 'int64List'] as const).filter(
    (k) => f[k] !== undefined,
  );
  if (kinds.length > 1) {
    throw new TypeError(`${where}: a feature holds one list, got ${kinds.join(' and ')}`);
  }
  if (f.bytesList !== undefined) {
    return {
      bytesList: { value: f.bytesList.map((v, i) => checkBytes(v, `${where}.bytesList[${i}]`)) },
    };
  }
  if (f.floatList !== undefined) {
    const values = Array.from(f.floatList);
    values.forEach((v, i) => {
      if (typeof v !== 'number') throw new TypeError(`${where}.floatList[${i}]: not a number`);
    });
    return { floatList: { value: values } };
  }
  if (f.int64List !== undefined) return { int64List: { value: f.int64List } };
  return {};
}

function checkBytes(v: Uint8Array | string, where: string): Uint8Array {
  if (typeof v !== 'string' && !(v instanceof Uint8Array)) {
    throw new TypeError(`${where}: expected Uint8Array or string`);
  }
  return toBytes(v);
}

function featuresToWire(map: FeatureMapInput, where: string): PlainMessage {
  return {
    feature: sortedKeys(map).map((key) => ({
      key,
      value: featureToWire(map[key], `${where}['${key}']`),
    })),
  };
}

function asUint8(v: unknown): Uint8Array {
  const b = v as Uint8Array;
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function featureFromWire(w: PlainMessage): Feature {
  const bytes = w.bytesList as { value: unknown[] } | undefined;
  if (bytes) return { bytesList: bytes.value.map(asUint8) };
  const floats = w.floatList as { value: number[] } | undefined;
  if (floats) return { floatList: Float32Array.from(floats.value) };
  const ints = w.int64List as { value: unknown[] } | undefined;
  if (ints) return { int64List: ints.value.map(fromWireInt64) };
  return {};
}

/** Sets `obj[key] = value` as an own property, even for keys such as `__proto__`. */
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function featuresFromWire(w: PlainMessage | null | undefined): FeatureMap {
  const out: FeatureMap = {};
  const entries = (w?.feature ?? []) as { key: string; value: PlainMessage | null }[];
  for (const e of entries) setOwn(out, e.key, e.value ? featureFromWire(e.value) : {});
  return out;
}

/** Serialises a `tf.train.Example` holding `features`. */
export function encodeExample(features: FeatureMapInput): Uint8Array {
  return encodeMessage('Example', { features: featuresToWire(features, 'Example.features') });
}

/** Parses a serialised `tf.train.Example` into its feature map. */
export function decodeExample(bytes: Uint8Array): FeatureMap {
  return featuresFromWire(decodeMessage('Example', bytes).features as PlainMessage | null);
}

/** Serialises a `tf.train.SequenceExample`. */
export function encodeSequenceExample(seq: SequenceExampleInput): Uint8Array {
  const lists = seq.featureLists ?? {};
  const context = seq.context ?? {};
  // Empty parts are left out, as TF does for submessages that were never set.
  return encodeMessage('SequenceExample', {
    context: Object.keys(context).length
      ? featuresToWire(context, 'SequenceExample.context')
      : undefined,
    featureLists:
      Object.keys(lists).length === 0
        ? undefined
        : {
            featureList: sortedKeys(lists).map((key) => {
              const steps = lists[key];
              if (!Array.isArray(steps)) {
                throw new TypeError(
                  `SequenceExample.featureLists['${key}']: expected an array of features`,
                );
              }
              return {
                key,
                value: {
                  feature: steps.map((f, t) =>
                    featureToWire(f, `SequenceExample.featureLists['${key}'][${t}]`),
                  ),
                },
              };
            }),
          },
  });
}

/** Parses a serialised `tf.train.SequenceExample`. */
export function decodeSequenceExample(bytes: Uint8Array): SequenceExample {
  const w = decodeMessage('SequenceExample', bytes);
  const featureLists: Record<string, Feature[]> = {};
  const lists = ((w.featureLists as PlainMessage | null)?.featureList ?? []) as {
    key: string;
    value: { feature: PlainMessage[] } | null;
  }[];
  for (const e of lists) setOwn(featureLists, e.key, (e.value?.feature ?? []).map(featureFromWire));
  return { context: featuresFromWire(w.context as PlainMessage | null), featureLists };
}
