/**
 * The per-example output of a parser (what a pipeline map function returns): named typed arrays
 * with their shapes, and a helper to read JSON parser options with errors naming the field.
 */
import type { Rng } from '../../core/random.js';

/** One output feature: a row-major typed array and its shape (`[]` for a scalar). */
export interface ParsedFeature {
  data: Float32Array | Int32Array | Uint8Array;
  shape: number[];
}

/** The features of one parsed example, by name. */
export type ParsedFeatures = Record<string, ParsedFeature>;

/** Reads fields of a JSON options object, throwing errors that name `<what>.<field>`. */
export class OptionReader {
  private readonly obj: Record<string, unknown>;

  constructor(
    /** What the options are, for errors (`<what>.<field> must be ...`). */
    readonly what: string,
    options: unknown,
  ) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new TypeError(`${what}: options must be an object, got ${JSON.stringify(options)}`);
    }
    this.obj = options as Record<string, unknown>;
  }

  /** Throws unless every key of the options is one of `known`. */
  onlyKnown(known: readonly string[]): void {
    for (const key of Object.keys(this.obj)) {
      if (!known.includes(key)) {
        throw new TypeError(`${this.what}: unknown option '${key}' (known: ${known.join(', ')})`);
      }
    }
  }

  private fail(field: string, want: string, got: unknown): never {
    throw new TypeError(`${this.what}.${field} must be ${want}, got ${JSON.stringify(got)}`);
  }

  /** The raw value, or undefined when absent or null. */
  raw(field: string): unknown {
    const v = this.obj[field];
    return v === null ? undefined : v;
  }

  bool(field: string, fallback: boolean): boolean {
    const v = this.raw(field);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') this.fail(field, 'a boolean', v);
    return v;
  }

  number(
    field: string,
    fallback: number,
    check?: (v: number) => boolean,
    want = 'a number',
  ): number {
    const v = this.raw(field);
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || (check && !check(v))) {
      this.fail(field, want, v);
    }
    return v;
  }

  string(field: string, fallback: string): string {
    const v = this.raw(field);
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || v.length === 0) this.fail(field, 'a non-empty string', v);
    return v;
  }

  /** A list of `length` finite numbers (any length when omitted). */
  numbers(field: string, fallback: number[] | undefined, length?: number): number[] | undefined {
    const v = this.raw(field);
    if (v === undefined) return fallback;
    const ok =
      Array.isArray(v) &&
      (length === undefined || v.length === length) &&
      v.every((x) => typeof x === 'number' && Number.isFinite(x));
    if (!ok) this.fail(field, `a list of ${length ?? 'some'} numbers`, v);
    return v as number[];
  }

  /** A nested options object, or undefined when absent or null. */
  object(field: string): Record<string, unknown> | undefined {
    const v = this.raw(field);
    if (v === undefined) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(field, 'an object', v);
    return v as Record<string, unknown>;
  }
}

/**
 * What a parser gets with each example (the pipeline's map context): a random stream seeded from
 * (pipeline seed, epoch, example index), the example's global index, where it came from (for
 * errors), whether this is a training pipeline, and pooled output arrays.
 */
export interface ParserContext {
  rng: Rng;
  index: number;
  where: string;
  training: boolean;
  /** Pooled float32 output arrays, when the pipeline offers them (MapContext.allocFloat32). */
  allocFloat32?: (length: number) => Float32Array;
}

/** A parser as a pipeline map function. */
export type ParserFn = (bytes: Uint8Array, ctx: ParserContext) => Promise<ParsedFeatures>;
