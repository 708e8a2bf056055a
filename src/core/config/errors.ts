/**
 * Config errors that say where the problem is (full dotted key path), where it came from (file
 * or override), what was expected and, for a misspelt key, the closest valid one.
 */
import type { z } from 'zod';
import { closestMatches, didYouMean } from '../strings.js';
import { describeExpected, describeValue, enumValuesAt, formatPath, keysAt } from './describe.js';

/** One problem in a config. */
export interface ConfigIssue {
  /** Dotted key path, e.g. `trainer.optimizer_config.learning_rate.cosine.decay_steps`. */
  path: string;
  /** What is wrong there. */
  message: string;
  /** Closest valid keys or values, when a name was misspelt. */
  suggestions: string[];
}

/** A config that cannot be used; the message lists every issue and names the source. */
export class ConfigError extends Error {
  override name = 'ConfigError';

  constructor(
    /** Where the bad value came from: `file 'a.yaml'`, `override 'trainer.train_steps=x'`. */
    readonly source: string,
    readonly issues: ConfigIssue[],
    /** Overrides the generated message (used for I/O and syntax errors). */
    message?: string,
  ) {
    super(message ?? ConfigError.format(source, issues));
  }

  static format(source: string, issues: ConfigIssue[]): string {
    const lines = issues.map((i) => `  ${i.path}: ${i.message}`);
    const noun = issues.length === 1 ? 'error' : `${issues.length} errors`;
    return `invalid config (${noun} in ${source}):\n${lines.join('\n')}`;
  }
}

/** Turns zod issues into {@link ConfigIssue}s, reading the schema for expectations and names. */
export function issuesFromZod(
  schema: z.core.$ZodType,
  issues: readonly z.core.$ZodIssue[],
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const path = issue.path;
    switch (issue.code) {
      case 'unrecognized_keys': {
        const valid = keysAt(schema, path);
        for (const key of issue.keys) {
          const suggestions = closestMatches(key, valid);
          out.push({
            path: formatPath([...path, key]),
            message: `unknown key '${key}'${didYouMean(key, valid)}`,
            suggestions,
          });
        }
        break;
      }
      case 'invalid_value': {
        const allowed = enumValuesAt(schema, path);
        const got = describeValue(issue.input);
        if (allowed.length > 0) {
          const hint = typeof issue.input === 'string' ? didYouMean(issue.input, allowed) : '';
          out.push({
            path: formatPath(path),
            message: `got ${got}, expected one of ${allowed.map((v) => `'${v}'`).join(', ')}${hint}`,
            suggestions:
              typeof issue.input === 'string' ? closestMatches(issue.input, allowed) : [],
          });
        } else {
          out.push({
            path: formatPath(path),
            message: `${issue.message}, got ${got}`,
            suggestions: [],
          });
        }
        break;
      }
      case 'invalid_type':
      case 'invalid_union': {
        const expected =
          describeExpected(schema, path) ??
          (issue.code === 'invalid_type' ? issue.expected : 'a different value');
        out.push({
          path: formatPath(path),
          message: `expected ${expected}, got ${describeValue(issue.input)}`,
          suggestions: [],
        });
        break;
      }
      default:
        out.push({ path: formatPath(path), message: issue.message, suggestions: [] });
    }
  }
  return out;
}
