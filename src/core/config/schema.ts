/**
 * Building blocks for experiment config schemas, in the shape of Model Garden's config
 * dataclasses (official/modeling/hyperparams/base_config.py, oneof.py).
 *
 * Every config section is a STRICT zod object (unknown keys are errors) whose fields all have
 * defaults, so `schema.parse({})` is the complete default config and a YAML file only lists the
 * fields it changes. Optional Python fields (`Optional[int] = None`) become nullable fields with a
 * `null` default. Nested sections are filled from their own defaults when absent.
 */
import { z } from 'zod';

/** A config section: a strict zod object. */
export type ConfigSchema = z.ZodObject<z.ZodRawShape, z.core.$strict>;

/** A strict object whose fields all carry defaults (the dataclass of a config section). */
export function config<S extends z.ZodRawShape>(shape: S): z.ZodObject<S, z.core.$strict> {
  return z.strictObject(shape);
}

/** Adds fields to a section (a dataclass subclass); the result stays strict. */
export function extendConfig<S extends z.ZodRawShape, E extends z.ZodRawShape>(
  base: z.ZodObject<S, z.core.$strict>,
  extra: E,
) {
  return base.extend(extra);
}

/** `int` field with a default. */
export function int(defaultValue: number) {
  return z.int().default(defaultValue);
}

/** `float` field with a default. */
export function float(defaultValue: number) {
  return z.number().default(defaultValue);
}

/** `str` field with a default. */
export function str(defaultValue: string) {
  return z.string().default(defaultValue);
}

/** `bool` field with a default. */
export function bool(defaultValue: boolean) {
  return z.boolean().default(defaultValue);
}

/** `Optional[int]` field; default `null` unless given. */
export function optInt(defaultValue: number | null = null) {
  return z.int().nullable().default(defaultValue);
}

/** `Optional[float]` field; default `null` unless given. */
export function optFloat(defaultValue: number | null = null) {
  return z.number().nullable().default(defaultValue);
}

/** `Optional[str]` field; default `null` unless given. */
export function optStr(defaultValue: string | null = null) {
  return z.string().nullable().default(defaultValue);
}

/** `Optional[bool]` field; default `null` unless given. */
export function optBool(defaultValue: boolean | null = null) {
  return z.boolean().nullable().default(defaultValue);
}

/** `List[...]` field with a default list (copied for every parse). */
export function list<T extends z.ZodType>(element: T, defaultValue: z.output<T>[] = []) {
  return z.array(element).default(() => [...defaultValue]);
}

/** `Optional[List[...]]` field with a `null` default. */
export function optList<T extends z.ZodType>(element: T) {
  return z.array(element).nullable().default(null);
}

/** A nested section, filled from its own defaults when absent. */
export function sub<T extends ConfigSchema>(schema: T): z.ZodPrefault<T> {
  return schema.prefault({} as z.input<T>);
}

/**
 * A nested section whose defaults differ from its schema's in a few fields, as Model Garden's
 * `validation_data: DataConfig = DataConfig(is_training=False)`: the given mapping is laid over
 * `overrides` (so a file that sets other fields of the section keeps `is_training: false`), and
 * an absent section is `overrides` plus the schema's defaults.
 */
export function subWith<T extends ConfigSchema>(schema: T, overrides: Partial<z.input<T>>) {
  return z.preprocess(
    (value) =>
      value === undefined
        ? { ...overrides }
        : value !== null && typeof value === 'object' && !Array.isArray(value)
          ? { ...overrides, ...value }
          : value,
    schema,
  );
}

/**
 * `Optional[Section] = None`: `null` by default; a mapping given for it starts from the
 * section's defaults (as Model Garden builds the sub-config from the mapping).
 */
export function optSub<T extends ConfigSchema>(schema: T) {
  return schema.nullable().default(null);
}

/**
 * How a field that the code does not implement is handled (see {@link notSupported} and
 * {@link noEffect}). The config audit test (test/core/config/field_audit.test.ts) walks every
 * registered schema and requires each field to be read by the code or to carry one of these.
 */
export type FieldMark =
  { kind: 'not_supported'; accepted: readonly unknown[] } | { kind: 'no_effect'; why: string };

const fieldMarks = new WeakMap<z.ZodType, FieldMark>();

/** The mark of a field or section schema, if it has one. */
export function fieldMark(schema: z.core.$ZodType): FieldMark | undefined {
  return fieldMarks.get(schema as z.ZodType);
}

/** The value a field takes when absent (a section: its defaults). */
function defaultOf(field: z.ZodType): unknown {
  const absent = field.safeParse(undefined);
  return absent.success ? absent.data : field.parse({});
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Whether `value` leaves a not-supported field unset: equal to one of the accepted values, where
 * null and '' count as the same "unset" (Model Garden tests such strings for truthiness).
 */
export function isUnsetValue(value: unknown, accepted: readonly unknown[]): boolean {
  const blank = (v: unknown): boolean => v === null || v === '';
  return accepted.some((a) => sameValue(value, a) || (blank(value) && blank(a)));
}

/** The message of a field set to a value this implementation does not support. */
export function notSupportedMessage(value: unknown, accepted: readonly unknown[]): string {
  const shown = (v: unknown): string => (v === undefined ? 'unset' : JSON.stringify(v));
  return (
    `not supported yet (got ${shown(value)}; ` +
    `only ${accepted.map(shown).join(' or ')} is accepted)`
  );
}

/**
 * A field (or a whole oneOf branch section) that is parsed, so Model Garden's files load, but
 * not implemented: any value other than its default (or one of `accepted`) is rejected with
 * "not supported yet" at the field's full key path, when the config is resolved.
 */
export function notSupported<T extends z.ZodType>(
  field: T,
  accepted: readonly unknown[] = [defaultOf(field)],
): T {
  const checked = field.superRefine((value, ctx) => {
    if (!isUnsetValue(value, accepted)) {
      ctx.addIssue({ code: 'custom', message: notSupportedMessage(value, accepted) });
    }
  }) as unknown as T;
  fieldMarks.set(checked, { kind: 'not_supported', accepted });
  return checked;
}

/**
 * A field that only steers TensorFlow machinery (tf.distribute, TPUs, XLA, tf.function, tf.data
 * service, caching) or asks for reduced-precision compute (everything computes in float32 here):
 * accepted so Model Garden's files load, and documented as having no effect. `why` says what it
 * steers in Model Garden.
 */
export function noEffect<T extends z.ZodType>(field: T, why: string): T {
  const marked = field.meta({ description: `no effect here: ${why}` }) as unknown as T;
  fieldMarks.set(marked, { kind: 'no_effect', why });
  return marked;
}

type BranchNames<B> = Extract<keyof B, string>;

/** Shape of a oneOf section: `type` plus one defaulted section per branch. */
export type OneOfShape<B extends Record<string, ConfigSchema>> = {
  type: z.ZodDefault<z.ZodNullable<z.ZodEnum<{ [K in BranchNames<B>]: K }>>>;
} & { [K in keyof B]: z.ZodPrefault<B[K]> };

/**
 * Model Garden's OneOfConfig: `{type, <branch>: {...}, ...}` where `type` names the active
 * branch (or is null: none). Every branch has defaults, so YAML only needs `type` and the chosen
 * branch's changed fields. `type` must be one of the branch names.
 */
export function oneOf<B extends Record<string, ConfigSchema>>(
  branches: B,
  defaultType: BranchNames<B> | null = null,
): z.ZodObject<OneOfShape<B>, z.core.$strict> {
  const names = Object.keys(branches) as BranchNames<B>[];
  if (names.length === 0) throw new Error('oneOf needs at least one branch');
  if (names.includes('type' as BranchNames<B>)) {
    throw new Error("oneOf: a branch may not be named 'type' (that key selects the branch)");
  }
  // Branches marked notSupported(section) parse, but selecting them is rejected.
  const unsupported = names.filter((n) => fieldMark(branches[n])?.kind === 'not_supported');
  const typeField = z
    .enum(names as [BranchNames<B>, ...BranchNames<B>[]])
    .nullable()
    .default(defaultType);
  const shape: Record<string, z.ZodType> = {
    type:
      unsupported.length === 0
        ? typeField
        : typeField.superRefine((value, ctx) => {
            if (value !== null && unsupported.includes(value)) {
              const ok = names.filter((n) => !unsupported.includes(n));
              ctx.addIssue({
                code: 'custom',
                message: `'${value}' is not supported yet (supported: ${ok.map((n) => `'${n}'`).join(', ')})`,
              });
            }
          }),
  };
  for (const name of names) shape[name] = sub(branches[name]);
  return z.strictObject(shape) as unknown as z.ZodObject<OneOfShape<B>, z.core.$strict>;
}

/** The branches of a parsed oneOf value (everything but `type`). */
export type OneOfBranches<C extends { type: string | null }> = Omit<C, 'type'>;

/**
 * The active branch of a parsed oneOf config (`cfg[cfg.type]`), or null when `type` is null,
 * like Model Garden's `OneOfConfig.get()`.
 */
export function activeBranch<C extends { type: string | null }>(
  cfg: C,
): OneOfBranches<C>[keyof OneOfBranches<C>] | null {
  if (cfg.type === null) return null;
  const branches = cfg as unknown as Record<string, OneOfBranches<C>[keyof OneOfBranches<C>]>;
  if (!(cfg.type in branches)) {
    throw new Error(`oneOf type '${cfg.type}' is not one of its branches`);
  }
  return branches[cfg.type];
}

/** A cross-field problem found by a {@link crossCheck} hook: where, and what is wrong. */
export interface CrossCheckProblem {
  /** Path relative to the checked section, e.g. `['values']`. */
  path: (string | number)[];
  /** Message naming the fields involved. */
  message: string;
}

let crossChecksEnabled = true;

/**
 * Attaches a cross-field check to a section. Checks run on complete, type-correct values. While
 * a config is assembled from several sources they are deferred to the final merged config (see
 * {@link parseStructure}), since an intermediate state may be half-way through a coordinated
 * change (e.g. `boundaries` and `values` of a stepwise schedule set by two overrides).
 */
export function crossCheck<T extends ConfigSchema>(
  schema: T,
  check: (value: z.output<T>) => CrossCheckProblem[],
): T {
  return schema.superRefine((value, ctx) => {
    if (!crossChecksEnabled) return;
    for (const problem of check(value as z.output<T>)) {
      ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
    }
  });
}

/** Parses keys and types only; cross-field checks are skipped. */
export function parseStructure<T extends z.ZodType>(
  schema: T,
  value: unknown,
): z.ZodSafeParseResult<z.output<T>> {
  const saved = crossChecksEnabled;
  crossChecksEnabled = false;
  try {
    return schema.safeParse(value, { reportInput: true });
  } finally {
    crossChecksEnabled = saved;
  }
}

/** Full parse: keys, types and cross-field checks. */
export function parseComplete<T extends z.ZodType>(
  schema: T,
  value: unknown,
): z.ZodSafeParseResult<z.output<T>> {
  return schema.safeParse(value, { reportInput: true });
}
