/**
 * `--params_override` strings, in the three forms Model Garden accepts
 * (official/modeling/hyperparams/params_dict.py, `override_params_dict`), tried in this order:
 *   1. a comma-separated list of dotted assignments: `task.model.num_classes=10,trainer.x=[1,2]`;
 *   2. a YAML/JSON document holding a mapping: `{task: {model: {num_classes: 10}}}`;
 *   3. the path of a YAML/JSON file.
 * Values in assignments are YAML scalars or flow collections (numbers, true/false, null, quoted
 * strings, `[1, 2]`, `{a: 1}`); commas inside brackets, braces or quotes do not split.
 */
import { fileExists } from '../host.js';
import { ConfigError } from './errors.js';
import { loadYamlFile, parseYamlValue } from './load.js';
import { isPlainObject, setOwn, type ConfigTree } from './merge.js';

/** A parsed override and a label naming it in error messages. */
export interface ParsedOverride {
  kind: 'assignments' | 'document' | 'file';
  value: ConfigTree;
  /** e.g. `override 'trainer.train_steps=10'` or `override file 'exp.yaml'`. */
  source: string;
}

const KEY_PATH = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const LOOKS_LIKE_ASSIGNMENT = /^\s*[A-Za-z_][A-Za-z0-9_.]*\s*=/;

/** Interprets one `--params_override` string (see module comment for the accepted forms). */
export function parseOverride(text: string): ParsedOverride {
  const source = `override '${text}'`;
  if (LOOKS_LIKE_ASSIGNMENT.test(text)) {
    return { kind: 'assignments', value: parseAssignments(text, source), source };
  }
  let yamlProblem: string | undefined;
  try {
    const doc = parseYamlValue(text, source);
    if (isPlainObject(doc)) return { kind: 'document', value: doc, source };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    yamlProblem = err.message;
  }
  const path = text.trim();
  if (path !== '' && fileExists(path)) {
    const fileSource = `override file '${path}'`;
    return { kind: 'file', value: loadYamlFile(path), source: fileSource };
  }
  throw new ConfigError(
    source,
    [],
    `${source} is neither 'key.path=value,...' assignments, nor a YAML mapping, nor an existing ` +
      `file` +
      (yamlProblem ? ` (as YAML: ${yamlProblem})` : ''),
  );
}

/**
 * Parses `a.b=1, c.d=[1,2], e='x,y'` into a nested mapping `{a: {b: 1}, c: {d: [1, 2]}, e: 'x,y'}`.
 * @throws ConfigError for a malformed entry, a bad value, or a key given twice or both as a value
 *   and as a section.
 */
export function parseAssignments(text: string, source = `override '${text}'`): ConfigTree {
  const out: ConfigTree = {};
  for (const entry of splitTopLevel(text, source)) {
    if (entry.trim() === '') continue;
    const eq = entry.indexOf('=');
    const key = eq < 0 ? '' : entry.slice(0, eq).trim();
    if (eq < 0 || !KEY_PATH.test(key)) {
      throw new ConfigError(
        source,
        [],
        `${source}: '${entry.trim()}' is not of the form key.path=value`,
      );
    }
    const raw = entry.slice(eq + 1).trim();
    if (raw === '') {
      throw new ConfigError(
        source,
        [],
        `${source}: '${key}=' has no value (write ${key}=null for null, ${key}='' for an empty string)`,
      );
    }
    let value: unknown;
    try {
      value = parseYamlValue(raw, `${source}, value of '${key}'`);
    } catch (err) {
      if (err instanceof ConfigError) {
        throw new ConfigError(
          source,
          [],
          `${err.message} (quote the value if it is a string: ${key}='${raw}')`,
        );
      }
      throw err;
    }
    assign(out, key.split('.'), value, source);
  }
  return out;
}

/** Splits at commas that are outside brackets, braces and quotes. */
function splitTopLevel(text: string, source: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '[' || c === '{') {
      depth++;
    } else if (c === ']' || c === '}') {
      depth--;
      if (depth < 0) throw new ConfigError(source, [], `${source}: unbalanced '${c}'`);
    } else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (quote) throw new ConfigError(source, [], `${source}: unterminated ${quote} quote`);
  if (depth !== 0) throw new ConfigError(source, [], `${source}: unclosed bracket or brace`);
  parts.push(text.slice(start));
  return parts;
}

function assign(tree: ConfigTree, keys: string[], value: unknown, source: string): void {
  let node = tree;
  for (let i = 0; i < keys.length - 1; i++) {
    const existing = Object.hasOwn(node, keys[i]) ? node[keys[i]] : undefined;
    if (existing === undefined) {
      const child: ConfigTree = {};
      setOwn(node, keys[i], child);
      node = child;
    } else if (isPlainObject(existing)) {
      node = existing;
    } else {
      const prefix = keys.slice(0, i + 1).join('.');
      throw new ConfigError(
        source,
        [],
        `${source}: '${prefix}' is given a value and also has keys set below it`,
      );
    }
  }
  const last = keys[keys.length - 1];
  if (Object.hasOwn(node, last)) {
    throw new ConfigError(source, [], `${source}: '${keys.join('.')}' is set more than once`);
  }
  setOwn(node, last, value);
}
