import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseAssignments, parseOverride } from '../../../src/core/config/index.js';

test('assignments: dotted keys nest; values are YAML scalars and flow lists', () => {
  assert.deepEqual(
    parseAssignments(
      "a.b=1, a.c=2.5, d=true, e=null, f='quoted, with comma', g=[1,2], h=gs://bucket/x*, i=1e-4",
    ),
    {
      a: { b: 1, c: 2.5 },
      d: true,
      e: null,
      f: 'quoted, with comma',
      g: [1, 2],
      h: 'gs://bucket/x*',
      i: 0.0001,
    },
  );
});

test('assignments: commas inside brackets and braces do not split', () => {
  assert.deepEqual(parseAssignments('x.y=[[1,2],[3,4]],z={p: 1, q: [5,6]},w="a,b"'), {
    x: {
      y: [
        [1, 2],
        [3, 4],
      ],
    },
    z: { p: 1, q: [5, 6] },
    w: 'a,b',
  });
  assert.deepEqual(parseAssignments('s=plain text'), { s: 'plain text' });
  assert.deepEqual(parseAssignments("s=''"), { s: '' });
  assert.deepEqual(parseAssignments('n="10"'), { n: '10' });
});

test('assignments: malformed input is a ConfigError that names the override', () => {
  const cases: [string, RegExp][] = [
    ['a.b=1,oops', /'oops' is not of the form key\.path=value/],
    ['a.b=', /'a\.b=' has no value/],
    ['a=1,a=2', /'a' is set more than once/],
    ['a=1,a.b=2', /'a' is given a value and also has keys set below it/],
    ['a=[1,2', /unclosed bracket/],
    ["a='x", /unterminated ' quote/],
    ['a=1]', /unbalanced '\]'/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(
      () => parseAssignments(text),
      (err: unknown) =>
        err instanceof ConfigError && pattern.test(err.message) && err.message.includes(text),
      text,
    );
  }
});

test('parseOverride: assignments, YAML/JSON document, or file path', () => {
  assert.deepEqual(parseOverride('trainer.train_steps=10'), {
    kind: 'assignments',
    value: { trainer: { train_steps: 10 } },
    source: "override 'trainer.train_steps=10'",
  });
  const doc = parseOverride('{task: {model: {num_classes: 10}}}');
  assert.equal(doc.kind, 'document');
  assert.deepEqual(doc.value, { task: { model: { num_classes: 10 } } });
  const json = parseOverride('{"trainer": {"train_steps": 7}}');
  assert.deepEqual(json.value, { trainer: { train_steps: 7 } });

  const dir = mkdtempSync(join(tmpdir(), 'vg-overrides-'));
  const file = join(dir, 'extra.yaml');
  writeFileSync(file, 'trainer:\n  train_steps: 99\n');
  const fromFile = parseOverride(file);
  assert.equal(fromFile.kind, 'file');
  assert.deepEqual(fromFile.value, { trainer: { train_steps: 99 } });
  assert.equal(fromFile.source, `override file '${file}'`);

  assert.throws(
    () => parseOverride(join(dir, 'missing.yaml')),
    /is neither 'key\.path=value,\.\.\.' assignments, nor a YAML mapping, nor an existing file/,
  );
});
