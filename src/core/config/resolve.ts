/**
 * Assembling an experiment config: base → YAML/JSON files → overrides, validated after every
 * source so an error names the file or override that introduced it.
 */
import type { z } from 'zod';
import { ConfigError, issuesFromZod } from './errors.js';
import { loadYamlFile } from './load.js';
import { deepMerge, isPlainObject, type ConfigTree } from './merge.js';
import { parseOverride } from './overrides.js';
import { parseComplete, parseStructure } from './schema.js';

export interface ResolveOptions {
  /** The experiment's default config (a complete or partial config object). Default `{}`. */
  base?: object;
  /** YAML/JSON files (`--config_file`), applied in order. */
  files?: readonly string[];
  /**
   * `--params_override` values, applied in order after the files: strings in any form
   * {@link parseOverride} accepts, or mappings given programmatically.
   */
  overrides?: readonly (string | ConfigTree)[];
}

/**
 * Checks `value` against `schema` and returns it with defaults filled in.
 * @param source names the value's origin in the error message.
 * @param crossChecks also run the schemas' cross-field checks (default true).
 * @throws ConfigError listing every issue with its full dotted key path.
 */
export function validateConfig<S extends z.ZodType>(
  schema: S,
  value: unknown,
  source: string,
  crossChecks = true,
): z.output<S> {
  const result = crossChecks ? parseComplete(schema, value) : parseStructure(schema, value);
  if (!result.success) {
    throw new ConfigError(source, issuesFromZod(schema, result.error.issues));
  }
  return result.data;
}

/**
 * Builds the config: `base`, then each file, then each override, deep-merged in that order
 * (mappings merge key by key; lists and scalars replace). Keys and types are checked after each
 * source; cross-field checks run once on the final result.
 * @throws ConfigError naming the key path, the source, what was expected and, for an unknown key,
 *   the closest valid key.
 */
export function resolveConfig<S extends z.ZodType>(
  schema: S,
  opts: ResolveOptions = {},
): z.output<S> {
  const applied: string[] = [];
  let current: unknown = validateConfig(schema, opts.base ?? {}, 'base config', false);
  applied.push('base config');
  const apply = (overlay: ConfigTree, source: string): void => {
    current = validateConfig(schema, deepMerge(current, overlay), source, false);
    applied.push(source);
  };
  for (const file of opts.files ?? []) apply(loadYamlFile(file), `file '${file}'`);
  (opts.overrides ?? []).forEach((override, i) => {
    if (typeof override === 'string') {
      if (override.trim() === '') return;
      const parsed = parseOverride(override);
      apply(parsed.value, parsed.source);
    } else if (isPlainObject(override)) {
      apply(override, `override #${i + 1} (mapping)`);
    } else {
      throw new ConfigError(
        `override #${i + 1}`,
        [],
        `override #${i + 1} must be a string or a mapping`,
      );
    }
  });
  return validateConfig(schema, current, `the merged config (${applied.join(', ')})`, true);
}
