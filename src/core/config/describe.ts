/**
 * Reads a config schema back: which keys a section accepts and what a field expects, for error
 * messages ("expected int or null", "did you mean 'decay_steps'?").
 */
import type { z } from 'zod';

type Node = z.core.$ZodTypes;
type PathSegment = PropertyKey;

/** Strips wrappers that do not change what a value must look like (default, nullable, ...). */
function unwrap(schema: Node): { node: Node; nullable: boolean } {
  let node = schema;
  let nullable = false;
  for (;;) {
    const def = node._zod.def;
    switch (def.type) {
      case 'default':
      case 'prefault':
      case 'optional':
      case 'nonoptional':
      case 'readonly':
      case 'catch':
        node = def.innerType as Node;
        break;
      case 'nullable':
        nullable = true;
        node = def.innerType as Node;
        break;
      case 'pipe':
        // z.preprocess(fn, schema) is pipe(transform, schema): the schema is what is checked.
        node = ((def.in as Node)._zod.def.type === 'transform' ? def.out : def.in) as Node;
        break;
      default:
        return { node, nullable };
    }
  }
}

/** The schemas a value at `path` may be checked against (several under a union). */
export function schemasAt(schema: z.core.$ZodType, path: readonly PathSegment[]): Node[] {
  let current: Node[] = [schema as Node];
  for (const segment of path) {
    const next: Node[] = [];
    const visit = (candidate: Node): void => {
      const { node } = unwrap(candidate);
      const def = node._zod.def;
      if (def.type === 'object' && typeof segment === 'string' && segment in def.shape) {
        next.push(def.shape[segment] as Node);
      } else if (def.type === 'array' && typeof segment === 'number') {
        next.push(def.element as Node);
      } else if (def.type === 'record' && typeof segment === 'string') {
        next.push(def.valueType as Node);
      } else if (def.type === 'union') {
        for (const option of def.options) visit(option as Node);
      }
    };
    for (const candidate of current) visit(candidate);
    current = next;
    if (current.length === 0) break;
  }
  return current;
}

/** Keys accepted by the section(s) at `path` (empty when there is no section there). */
export function keysAt(schema: z.core.$ZodType, path: readonly PathSegment[]): string[] {
  const keys = new Set<string>();
  const collect = (candidate: Node): void => {
    const { node } = unwrap(candidate);
    const def = node._zod.def;
    if (def.type === 'object') for (const k of Object.keys(def.shape)) keys.add(k);
    else if (def.type === 'union') for (const option of def.options) collect(option as Node);
  };
  for (const s of schemasAt(schema, path)) collect(s);
  return [...keys];
}

/** Allowed values of an enum field at `path`, if it is one. */
export function enumValuesAt(schema: z.core.$ZodType, path: readonly PathSegment[]): string[] {
  const out: string[] = [];
  for (const s of schemasAt(schema, path)) {
    const { node } = unwrap(s);
    const def = node._zod.def;
    if (def.type === 'enum') out.push(...Object.values(def.entries).map(String));
  }
  return out;
}

/** Human description of what a schema accepts: `int`, `list of float or null`, `mapping`. */
export function describeSchema(schema: z.core.$ZodType): string {
  const { node, nullable } = unwrap(schema as Node);
  const def = node._zod.def;
  let text: string;
  switch (def.type) {
    case 'number':
      // z.int() is a number schema whose def carries format 'safeint'.
      text = (def as { format?: string }).format === 'safeint' ? 'int' : 'number';
      break;
    case 'string':
    case 'boolean':
    case 'null':
      text = def.type;
      break;
    case 'array':
      text = `list of ${describeSchema(def.element)}`;
      break;
    case 'object':
      text = 'mapping (config section)';
      break;
    case 'record':
      text = `mapping of name to ${describeSchema(def.valueType)}`;
      break;
    case 'enum':
      text = `one of ${Object.values(def.entries)
        .map((v) => `'${String(v)}'`)
        .join(', ')}`;
      break;
    case 'literal':
      text = def.values.map((v) => JSON.stringify(v)).join(' or ');
      break;
    case 'union':
      text = def.options.map((o) => describeSchema(o)).join(' or ');
      break;
    default:
      text = def.type;
  }
  return nullable && text !== 'null' ? `${text} or null` : text;
}

/** Describes what a field expects, from the schema when the path leads to one. */
export function describeExpected(
  schema: z.core.$ZodType,
  path: readonly PathSegment[],
): string | undefined {
  const found = schemasAt(schema, path);
  if (found.length === 0) return undefined;
  return [...new Set(found.map(describeSchema))].join(' or ');
}

/** Short description of a value for messages: `string "abc"`, `list [1,2]`, `mapping {...}`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `list ${truncate(JSON.stringify(value))}`;
  if (typeof value === 'object') return `mapping ${truncate(JSON.stringify(value))}`;
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  if (typeof value === 'number' && !Number.isInteger(value)) return `float ${value}`;
  if (typeof value === 'number') return `int ${value}`;
  return `${typeof value} ${String(value)}`;
}

function truncate(text: string, max = 60): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

/** Dotted path as used in YAML overrides: `trainer.optimizer_config.learning_rate`, `a.b[0]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out || '(top level)';
}
