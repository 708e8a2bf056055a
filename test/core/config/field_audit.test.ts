/**
 * The config audit: every field of every registered experiment schema is either implemented,
 * or rejected with "not supported yet" when set, or declared as having no effect (TF machinery),
 * never accepted and silently ignored.
 *
 * How "implemented" is decided: the TypeScript sources under src/ are parsed (TypeScript's own
 * parser), leaving out the schema modules (src/core/config/ and every `config.ts`), and every
 * name the code READS is collected: property accesses (`cfg.momentum`), element accesses with a
 * literal key (`cfg['momentum']`), destructuring (`const { momentum } = cfg`) and string literals
 * in value positions (`r.num('momentum')`, key lists). Type declarations and comments do not
 * count. A field passes when its key is among those names, or the field (or a section above it)
 * is marked `notSupported`/`noEffect` in its schema, or its path is in NOT_SUPPORTED_YET.
 *
 * The check is by key name, not by path, so a key that is read in one section also passes in
 * another section with the same key name; it fails for any new field whose name no code reads,
 * which is what a forgotten field looks like. The second test shows it does fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';
import { z } from 'zod';
import '../../../src/tasks/index.js';
import { tasks } from '../../../src/core/registry.js';
import { NOT_SUPPORTED_YET } from '../../../src/core/config/definitions.js';
import {
  config,
  fieldMark,
  int,
  noEffect,
  notSupported,
  str,
} from '../../../src/core/config/schema.js';
import { REPO_ROOT } from '../../helpers.js';

type Node = z.core.$ZodType;
type Verdict = 'read' | 'not_supported' | 'no_effect' | 'fixed' | 'ignored';

/** Schema modules: where fields are declared, so a name there is no evidence of use. */
function isSchemaModule(rel: string): boolean {
  return rel.startsWith(`src${sep}core${sep}config${sep}`) || rel.endsWith(`${sep}config.ts`);
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Names read by TypeScript `sources` (see the module comment). */
function namesRead(sources: { name: string; text: string }[]): Set<string> {
  const names = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isTypeNode(node) || ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node))
      return;
    if (ts.isPropertyAccessExpression(node)) names.add(node.name.text);
    else if (ts.isElementAccessExpression(node) && ts.isStringLiteral(node.argumentExpression))
      names.add(node.argumentExpression.text);
    else if (ts.isBindingElement(node) && ts.isObjectBindingPattern(node.parent)) {
      const key = node.propertyName ?? node.name;
      if (ts.isIdentifier(key) || ts.isStringLiteral(key)) names.add(key.text);
    } else if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
      names.add(node.text);
    }
    ts.forEachChild(node, visit);
  };
  for (const { name, text } of sources) {
    visit(ts.createSourceFile(name, text, ts.ScriptTarget.ES2022, true));
  }
  return names;
}

/** Wrappers that do not change what a field holds. */
function unwrapOnce(node: Node): Node | null {
  const def = node._zod.def as { type: string; innerType?: Node; in?: Node };
  if (
    ['default', 'prefault', 'optional', 'nullable', 'nonoptional', 'readonly', 'catch'].includes(
      def.type,
    )
  )
    return def.innerType ?? null;
  if (def.type === 'pipe') {
    const d = def as { in?: Node; out?: Node };
    // z.preprocess(fn, schema) is pipe(transform, schema): the schema holds the fields.
    return (d.in && d.in._zod.def.type === 'transform' ? d.out : d.in) ?? null;
  }
  return null;
}

/** Every field of `schema` with its verdict; sections recurse, marks apply to what is inside. */
function auditSchema(
  schema: Node,
  read: Set<string>,
  pendingPaths: ReadonlySet<string>,
): Map<string, Verdict> {
  const out = new Map<string, Verdict>();
  const walk = (node: Node, path: string[], inherited: Verdict | null): void => {
    let mark: Verdict | null = inherited;
    let inner: Node = node;
    for (;;) {
      const m = fieldMark(inner);
      if (m && mark === null) mark = m.kind;
      const next = unwrapOnce(inner);
      if (!next) break;
      inner = next;
    }
    if (pendingPaths.has(path.join('.'))) mark = 'not_supported';
    const def = inner._zod.def as { type: string; shape?: Record<string, Node> };
    if (def.type === 'object' && def.shape) {
      for (const [key, child] of Object.entries(def.shape)) walk(child, [...path, key], mark);
      return;
    }
    const key = path[path.length - 1];
    let verdict: Verdict;
    if (mark) verdict = mark;
    else if (def.type === 'null')
      verdict = 'fixed'; // can hold nothing but its default
    else verdict = read.has(key) ? 'read' : 'ignored';
    out.set(path.join('.'), verdict);
  };
  walk(schema, [], null);
  return out;
}

const implementationFiles = sourceFiles(join(REPO_ROOT, 'src')).filter(
  (f) => !isSchemaModule(relative(REPO_ROOT, f)),
);
const readNames = namesRead(
  implementationFiles.map((f) => ({ name: f, text: readFileSync(f, 'utf8') })),
);
const pending = new Set(Object.keys(NOT_SUPPORTED_YET));

test('every field of every registered experiment schema is read, rejected or marked no-effect', () => {
  const ignored: string[] = [];
  const counts: Record<Verdict, number> = {
    read: 0,
    not_supported: 0,
    no_effect: 0,
    fixed: 0,
    ignored: 0,
  };
  for (const type of tasks.names()) {
    const verdicts = auditSchema(tasks.get(type).experimentSchema, readNames, pending);
    for (const [path, verdict] of verdicts) {
      counts[verdict] += 1;
      if (verdict === 'ignored') ignored.push(`${type}: ${path}`);
    }
  }
  assert.deepEqual(
    ignored,
    [],
    `fields no code reads and nothing rejects:\n  ${ignored.join('\n  ')}\n` +
      'implement them, or wrap them in notSupported() (or noEffect() for TF-only machinery)',
  );
  // The walk really covered the schemas: hundreds of fields, most of them implemented.
  assert.ok(counts.read > 250, `only ${counts.read} fields read`);
  assert.ok(counts.not_supported > 20 && counts.no_effect > 20, JSON.stringify(counts));
});

test('the audit flags a field no code reads, and accepts it once marked', () => {
  const fresh = config({
    trainer: config({ train_steps: int(0), zz_audit_probe_never_read: int(3) }),
  });
  const verdicts = auditSchema(fresh, readNames, new Set());
  assert.equal(verdicts.get('trainer.train_steps'), 'read');
  assert.equal(verdicts.get('trainer.zz_audit_probe_never_read'), 'ignored');

  const marked = config({
    a: notSupported(int(3)),
    b: noEffect(str(''), 'test'),
    c: notSupported(config({ zz_inside_probe: int(1) })),
    d: config({ zz_pending_probe: int(1) }),
  });
  const v = auditSchema(marked, readNames, new Set(['d.zz_pending_probe']));
  assert.equal(v.get('a'), 'not_supported');
  assert.equal(v.get('b'), 'no_effect');
  assert.equal(v.get('c.zz_inside_probe'), 'not_supported');
  assert.equal(v.get('d.zz_pending_probe'), 'not_supported');
});

test('names in comments and type declarations do not count as reads', () => {
  const names = namesRead([
    {
      name: 'probe.ts',
      text:
        '// cfg.zz_comment_probe\n' +
        'interface P { zz_type_probe: number }\n' +
        "type Q = { zz_alias_probe: 'zz_literal_type_probe' };\n" +
        'const x = y.zz_access_probe;\n' +
        'const { zz_destructured_probe, zz_renamed_probe: r } = y;\n' +
        "f(y['zz_element_probe'], 'zz_string_probe');\n",
    },
  ]);
  const probes = [...names].filter((n) => n.startsWith('zz_')).sort();
  assert.deepEqual(probes, [
    'zz_access_probe',
    'zz_destructured_probe',
    'zz_element_probe',
    'zz_renamed_probe',
    'zz_string_probe',
  ]);
});
