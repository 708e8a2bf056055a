/**
 * YAML in and out: reading config files (with file:line on syntax errors) and writing
 * `params.yaml` into a model directory.
 *
 * Files are read as YAML 1.2 (core schema), which also reads JSON. Model Garden's files parse the
 * same way: they use `true`/`false`, plain numbers such as `1e-4`, and quoted or plain strings.
 */
import {
  Document,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Pair,
} from 'yaml';
import { writeAllSync, writeFileAtomicSync } from '../atomic_write.js';
import { fileError, refuseCloudPath } from '../fs_errors.js';
import { joinPath, makeDirs, readTextFileSync } from '../host.js';
import { ConfigError } from './errors.js';
import { isPlainObject, type ConfigTree } from './merge.js';

/**
 * Parses YAML (or JSON) text holding a mapping of config keys. Empty text gives `{}`.
 * @param sourceName used in error messages (`file.yaml`, `override '...'`).
 * @throws ConfigError on a syntax error (with line:column) or when the top level is no mapping.
 */
export function parseYamlMapping(text: string, sourceName: string): ConfigTree {
  const value = parseYamlValue(text, sourceName);
  if (value === null || value === undefined) return {};
  if (!isPlainObject(value)) {
    throw new ConfigError(
      sourceName,
      [],
      `${sourceName}: the top level must be a mapping of config keys, got ${describeKind(value)}`,
    );
  }
  return value;
}

/**
 * Parses one YAML value (document or scalar).
 * @throws ConfigError naming `sourceName`, line and column on a syntax error.
 */
export function parseYamlValue(text: string, sourceName: string): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    const { line, col } = lineCounter.linePos(err.pos[0]);
    const reason = err.message.split('\n')[0].replace(/ at line \d+, column \d+.*$/, '');
    throw new ConfigError(
      sourceName,
      [],
      `${sourceName}:${line}:${col}: YAML syntax error: ${reason}`,
    );
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    // The yaml library refuses alias expansions that blow up ("billion laughs"); name the source
    // and the key holding the first alias instead of its bare message.
    const message = (err as Error).message;
    if (!/alias/i.test(message)) throw err;
    let where = '';
    visit(doc, {
      Alias(_key, _node, path) {
        const keys = path
          .filter((p): p is Pair => isPair(p))
          .map((p) => (isScalar(p.key) ? String(p.key.value) : '?'));
        where = keys.join('.');
        return visit.BREAK;
      },
    });
    throw new ConfigError(
      sourceName,
      [],
      `${sourceName}: YAML aliases expand too much (more than ${MAX_ALIAS_COUNT} per alias, ` +
        `a resource-exhaustion pattern)${where ? ` at key '${where}'` : ''}`,
    );
  }
}

/** Most expansions one YAML alias may cause (the yaml library's guard against alias bombs). */
const MAX_ALIAS_COUNT = 100;

/**
 * Reads a YAML/JSON config file into a plain mapping.
 * @throws ConfigError when the file is missing or unreadable, has a syntax error (file:line:col),
 *   or does not hold a mapping.
 */
export function loadYamlFile(path: string): ConfigTree {
  refuseCloudPath(path, 'config file');
  let text: string;
  try {
    text = readTextFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory, not a file'
          : (err as Error).message;
    throw new ConfigError(`file '${path}'`, [], `config file '${path}': ${why}`);
  }
  return parseYamlMapping(text, path);
}

/**
 * YAML text of a config: sections as block mappings in key order, lists of scalars in flow
 * style (`[1, 2]`) like Model Garden's params.yaml. Parsing it back gives an equal value.
 */
export function configToYaml(config: object): string {
  const doc = new Document(config);
  visit(doc, {
    Seq(_key, node) {
      if (node.items.every((item) => isScalar(item))) node.flow = true;
    },
  });
  // Nested lists are written in flow style as a whole too.
  visit(doc, {
    Seq(_key, node) {
      if (node.items.some((item) => isSeq(item))) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0 });
}

/**
 * Writes `<modelDir>/params.yaml` atomically (src/core/atomic_write.ts), creating the directory. Returns the file's path.
 */
export function writeParamsYaml(modelDir: string, config: object): string {
  try {
    makeDirs(modelDir);
  } catch (err) {
    throw fileError(err, 'create model_dir', modelDir);
  }
  const target = joinPath(modelDir, 'params.yaml');
  try {
    writeFileAtomicSync(target, (fd) => writeAllSync(fd, configToYaml(config)));
  } catch (err) {
    throw fileError(err, 'write', target);
  }
  return target;
}

/** What a value is, without its content (a non-YAML file would otherwise be echoed). */
function describeKind(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  return `a ${typeof value}`;
}
