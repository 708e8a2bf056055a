/**
 * Typed feature specs for tf.train.Example and tf.train.SequenceExample, in the spirit of
 * `tf.io.parse_single_example` / `tf.io.parse_single_sequence_example`.
 *
 * A spec maps a feature key to
 *   - `{kind: 'fixed', dtype, shape, default?}`  (tf.io.FixedLenFeature): exactly prod(shape)
 *     values; a scalar (shape []) parses to a single value, other shapes to a flat row-major list;
 *   - `{kind: 'var', dtype}` (tf.io.VarLenFeature, densified as Model Garden does): any number of
 *     values, a flat list;
 * and, for SequenceExample feature lists, `{kind: 'fixedSequence', dtype, shape, allowMissing?}`
 * (tf.io.FixedLenSequenceFeature): every step holds prod(shape) values; all steps concatenated.
 *
 * As in TensorFlow: record keys that the spec does not name are ignored; a spec key the record
 * lacks gives the default of a fixed feature, an empty list for a var feature, and an error
 * (naming the key and the record) for a fixed feature without default; a feature stored with
 * another type than the spec's dtype, or a fixed feature with the wrong number of values, is an
 * error. A feature with no list set (`Feature()`) counts as missing.
 *
 * Parsed values: dtype 'string' -> Uint8Array (scalar) / Uint8Array[]; 'int64' -> number /
 * number[] (a value beyond +-(2^53 - 1) is an error); 'float32' -> number / Float32Array.
 */
import {
  decodeExample,
  decodeSequenceExample,
  type Feature,
  type FeatureMap,
} from '../../core/proto/index.js';
import { ExampleDecodeError, type RecordContext } from './errors.js';

export type FeatureDtype = 'string' | 'int64' | 'float32';

type ScalarOf<D extends FeatureDtype> = D extends 'string' ? Uint8Array : number;
type ListOf<D extends FeatureDtype> = D extends 'string'
  ? Uint8Array[]
  : D extends 'int64'
    ? number[]
    : Float32Array;
/** A default value as given in a spec (strings are UTF-8 encoded). */
type DefaultOf<D extends FeatureDtype> = D extends 'string'
  ? string | Uint8Array | (string | Uint8Array)[]
  : number | number[];

export interface FixedLenFeature<
  D extends FeatureDtype = FeatureDtype,
  S extends readonly number[] = readonly number[],
> {
  kind: 'fixed';
  dtype: D;
  shape: S;
  /** Used when the record lacks the key; a scalar is broadcast to the shape. */
  default?: DefaultOf<D>;
}

export interface VarLenFeature<D extends FeatureDtype = FeatureDtype> {
  kind: 'var';
  dtype: D;
}

export interface FixedLenSequenceFeature<D extends FeatureDtype = FeatureDtype> {
  kind: 'fixedSequence';
  dtype: D;
  shape: readonly number[];
  /** A missing feature list gives zero steps instead of an error. */
  allowMissing?: boolean;
}

export type FeatureSpec = FixedLenFeature | VarLenFeature;
export type FeatureSpecMap = Record<string, FeatureSpec>;
export type SequenceFeatureSpec = FixedLenSequenceFeature | VarLenFeature;
export type SequenceFeatureSpecMap = Record<string, SequenceFeatureSpec>;

/**
 * The parsed value for one spec entry: a scalar for shape [], a list otherwise; a spec whose
 * shape is only known as `number[]` parses to either.
 */
export type ParsedValue<F> = F extends {
  kind: 'fixed';
  dtype: infer D extends FeatureDtype;
  shape: infer S;
}
  ? S extends readonly []
    ? ScalarOf<D>
    : readonly number[] extends S
      ? ScalarOf<D> | ListOf<D>
      : ListOf<D>
  : F extends { dtype: infer D extends FeatureDtype }
    ? ListOf<D>
    : never;

export type ParsedExample<S extends FeatureSpecMap> = { [K in keyof S]: ParsedValue<S[K]> };

/** Parsed feature lists: a fixed sequence concatenates its steps; a var one keeps one list per step. */
export type ParsedSequence<S extends SequenceFeatureSpecMap> = {
  [K in keyof S]: S[K] extends { kind: 'var'; dtype: infer D extends FeatureDtype }
    ? ListOf<D>[]
    : S[K] extends { dtype: infer D extends FeatureDtype }
      ? ListOf<D>
      : never;
};

/** A scalar fixed-length feature (tf.io.FixedLenFeature((), dtype, default)). */
export function scalarFeature<D extends FeatureDtype>(
  dtype: D,
  defaultValue?: DefaultOf<D>,
): FixedLenFeature<D, readonly []> {
  return defaultValue === undefined
    ? { kind: 'fixed', dtype, shape: [] }
    : { kind: 'fixed', dtype, shape: [], default: defaultValue };
}

/** A fixed-length feature of the given shape. */
export function fixedLenFeature<D extends FeatureDtype, const S extends readonly number[]>(
  dtype: D,
  shape: S,
  defaultValue?: DefaultOf<D>,
): FixedLenFeature<D, S> {
  return defaultValue === undefined
    ? { kind: 'fixed', dtype, shape }
    : { kind: 'fixed', dtype, shape, default: defaultValue };
}

/** A variable-length feature (tf.io.VarLenFeature), returned as a dense flat list. */
export function varLenFeature<D extends FeatureDtype>(dtype: D): VarLenFeature<D> {
  return { kind: 'var', dtype };
}

/** A per-step fixed-length feature of a SequenceExample (tf.io.FixedLenSequenceFeature). */
export function fixedLenSequenceFeature<D extends FeatureDtype>(
  dtype: D,
  shape: readonly number[] = [],
  allowMissing = false,
): FixedLenSequenceFeature<D> {
  return { kind: 'fixedSequence', dtype, shape, allowMissing };
}

const DTYPES: readonly FeatureDtype[] = ['string', 'int64', 'float32'];
const WIRE_NAME: Record<FeatureDtype, string> = {
  string: 'bytes_list (string)',
  int64: 'int64_list (int64)',
  float32: 'float_list (float)',
};
const utf8 = new TextEncoder();

type AnyList = Uint8Array[] | number[] | Float32Array;

function numElements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function validateSpecEntry(
  key: string,
  spec: FeatureSpec | SequenceFeatureSpec,
  allowed: string[],
): void {
  if (spec === null || typeof spec !== 'object' || !allowed.includes(spec.kind)) {
    throw new TypeError(
      `feature spec '${key}': kind must be ${allowed.map((k) => `'${k}'`).join(' or ')}, got ${JSON.stringify((spec as { kind?: unknown } | null)?.kind)}`,
    );
  }
  if (!DTYPES.includes(spec.dtype)) {
    throw new TypeError(
      `feature spec '${key}': dtype must be 'string', 'int64' or 'float32', got ${JSON.stringify(spec.dtype)}`,
    );
  }
  if (spec.kind !== 'var') {
    if (!Array.isArray(spec.shape) || spec.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new TypeError(
        `feature spec '${key}': shape must be a list of non-negative integers, got ${JSON.stringify(spec.shape)}`,
      );
    }
  }
}

/** The values of a feature as the spec's dtype, or undefined when it is missing / kindless. */
function featureValues(
  feature: Feature | undefined,
  key: string,
  dtype: FeatureDtype,
  ctx: RecordContext,
  where = '',
): AnyList | undefined {
  if (feature === undefined) return undefined;
  const stored: FeatureDtype | undefined = feature.bytesList
    ? 'string'
    : feature.int64List
      ? 'int64'
      : feature.floatList
        ? 'float32'
        : undefined;
  if (stored === undefined) return undefined;
  if (stored !== dtype) {
    throw new ExampleDecodeError(
      ctx,
      key,
      `${where}data types don't match: the record holds ${WIRE_NAME[stored]}, the spec expects ${WIRE_NAME[dtype]}`,
    );
  }
  if (dtype === 'string') return feature.bytesList!;
  if (dtype === 'float32') return Float32Array.from(feature.floatList!);
  return feature.int64List!.map((v, i) => {
    if (typeof v === 'bigint') {
      throw new ExampleDecodeError(
        ctx,
        key,
        `${where}int64 value ${i} (${v}) is outside the exactly representable range +-(2^53 - 1)`,
      );
    }
    return v;
  });
}

function defaultList(spec: FixedLenFeature, key: string): AnyList {
  const n = numElements(spec.shape);
  const given = spec.default!;
  const items = Array.isArray(given) ? given : Array.from({ length: n }, () => given);
  if (items.length !== n) {
    throw new TypeError(
      `feature spec '${key}': default has ${items.length} values, shape [${spec.shape.join(', ')}] needs ${n}`,
    );
  }
  if (spec.dtype === 'string') {
    return items.map((v) => {
      if (typeof v === 'string') return utf8.encode(v);
      if (v instanceof Uint8Array) return v;
      throw new TypeError(`feature spec '${key}': a string default must be a string or Uint8Array`);
    });
  }
  const nums = items.map((v) => {
    if (typeof v !== 'number')
      throw new TypeError(`feature spec '${key}': default must be numeric`);
    return v;
  });
  return spec.dtype === 'float32' ? Float32Array.from(nums) : nums;
}

function emptyList(dtype: FeatureDtype): AnyList {
  return dtype === 'float32' ? new Float32Array(0) : [];
}

/**
 * Parses an already-decoded feature map (an Example's features or a SequenceExample's context)
 * with `spec`. See the module comment for the rules; errors name the key and `ctx`.
 */
export function parseFeatures<S extends FeatureSpecMap>(
  features: FeatureMap,
  spec: S,
  ctx: RecordContext = {},
): ParsedExample<S> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(spec)) {
    const entry = spec[key];
    validateSpecEntry(key, entry, ['fixed', 'var']);
    const own = Object.prototype.hasOwnProperty.call(features, key) ? features[key] : undefined;
    const values = featureValues(own, key, entry.dtype, ctx);
    let list: AnyList;
    if (entry.kind === 'var') {
      list = values ?? emptyList(entry.dtype);
    } else {
      const n = numElements(entry.shape);
      if (values === undefined) {
        if (entry.default === undefined) {
          throw new ExampleDecodeError(
            ctx,
            key,
            `required feature (fixed-length ${entry.dtype}, shape [${entry.shape.join(', ')}], no default) is not in the record`,
          );
        }
        list = defaultList(entry, key);
      } else if (values.length !== n) {
        throw new ExampleDecodeError(
          ctx,
          key,
          `fixed-length feature has ${values.length} values, shape [${entry.shape.join(', ')}] needs ${n}`,
        );
      } else {
        list = values;
      }
    }
    const scalar = entry.kind === 'fixed' && entry.shape.length === 0;
    Object.defineProperty(out, key, {
      value: scalar ? list[0] : list,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out as ParsedExample<S>;
}

/** Decodes a serialized tf.train.Example and parses it with `spec`. */
export function parseExample<S extends FeatureSpecMap>(
  bytes: Uint8Array,
  spec: S,
  ctx: RecordContext = {},
): ParsedExample<S> {
  let features: FeatureMap;
  try {
    features = decodeExample(bytes);
  } catch (err) {
    throw new ExampleDecodeError(
      ctx,
      undefined,
      `not a valid tf.train.Example (${(err as Error).message})`,
      {
        cause: err,
      },
    );
  }
  return parseFeatures(features, spec, ctx);
}

/**
 * Decodes a serialized tf.train.SequenceExample and parses its context with `contextSpec` and
 * its feature lists with `sequenceSpec`.
 */
export function parseSequenceExample<C extends FeatureSpecMap, Q extends SequenceFeatureSpecMap>(
  bytes: Uint8Array,
  contextSpec: C,
  sequenceSpec: Q,
  ctx: RecordContext = {},
): { context: ParsedExample<C>; sequence: ParsedSequence<Q> } {
  let seq: ReturnType<typeof decodeSequenceExample>;
  try {
    seq = decodeSequenceExample(bytes);
  } catch (err) {
    throw new ExampleDecodeError(
      ctx,
      undefined,
      `not a valid tf.train.SequenceExample (${(err as Error).message})`,
      { cause: err },
    );
  }
  const context = parseFeatures(seq.context, contextSpec, ctx);
  const sequence: Record<string, unknown> = {};
  for (const key of Object.keys(sequenceSpec)) {
    const entry = sequenceSpec[key];
    validateSpecEntry(key, entry, ['fixedSequence', 'var']);
    const steps = Object.prototype.hasOwnProperty.call(seq.featureLists, key)
      ? seq.featureLists[key]
      : undefined;
    let value: unknown;
    if (entry.kind === 'var') {
      value = (steps ?? []).map(
        (f, t) => featureValues(f, key, entry.dtype, ctx, `step ${t}: `) ?? emptyList(entry.dtype),
      );
    } else {
      if (steps === undefined && !entry.allowMissing) {
        throw new ExampleDecodeError(
          ctx,
          key,
          'required feature list (fixed-length sequence, allowMissing false) is not in the record',
        );
      }
      const n = numElements(entry.shape);
      const lists = (steps ?? []).map((f, t) => {
        const v = featureValues(f, key, entry.dtype, ctx, `step ${t}: `) ?? emptyList(entry.dtype);
        if (v.length !== n) {
          throw new ExampleDecodeError(
            ctx,
            key,
            `step ${t} has ${v.length} values, shape [${entry.shape.join(', ')}] needs ${n}`,
          );
        }
        return v;
      });
      value = concatLists(lists, entry.dtype);
    }
    Object.defineProperty(sequence, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return { context, sequence: sequence as ParsedSequence<Q> };
}

function concatLists(lists: AnyList[], dtype: FeatureDtype): AnyList {
  if (dtype === 'float32') {
    const total = lists.reduce((a, l) => a + l.length, 0);
    const out = new Float32Array(total);
    let o = 0;
    for (const l of lists) {
      out.set(l as Float32Array, o);
      o += l.length;
    }
    return out;
  }
  return (lists as (Uint8Array[] | number[])[]).flat() as AnyList;
}
