import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  configToYaml,
  loadYamlFile,
  writeParamsYaml,
} from '../../../src/core/config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'vg-load-'));

test('loadYamlFile reads a mapping; an empty file is an empty mapping', () => {
  const f = join(dir, 'ok.yaml');
  writeFileSync(f, "a:\n  b: [1, 2]\n  c: 'x'\nd: 1.5e-3\n");
  assert.deepEqual(loadYamlFile(f), { a: { b: [1, 2], c: 'x' }, d: 0.0015 });
  const empty = join(dir, 'empty.yaml');
  writeFileSync(empty, '# nothing\n');
  assert.deepEqual(loadYamlFile(empty), {});
});

test('loadYamlFile: missing file', () => {
  const f = join(dir, 'nope.yaml');
  assert.throws(
    () => loadYamlFile(f),
    (err: unknown) =>
      err instanceof ConfigError && err.message === `config file '${f}': no such file`,
  );
});

test('loadYamlFile: syntax error names file:line:column', () => {
  const f = join(dir, 'bad.yaml');
  // Line 3 nests a mapping in a compact value; the second mapping starts at column 11
  // (two spaces + 'values: ' = 10 characters before it).
  writeFileSync(f, 'trainer:\n  train_steps: 1\n  values: a: b\nruntime: {}\n');
  assert.throws(
    () => loadYamlFile(f),
    (err: unknown) =>
      err instanceof ConfigError && err.message.startsWith(`${f}:3:11: YAML syntax error`),
  );
  const dup = join(dir, 'dup.yaml');
  writeFileSync(dup, 'a: 1\nb: 2\na: 3\n');
  assert.throws(() => loadYamlFile(dup), new RegExp(`${dup}:3:1: YAML syntax error`));
});

test('loadYamlFile: the top level must be a mapping', () => {
  const f = join(dir, 'list.yaml');
  writeFileSync(f, '- 1\n- 2\n');
  assert.throws(() => loadYamlFile(f), /top level must be a mapping of config keys, got a list/);
});

test('configToYaml writes sections as blocks and scalar lists in flow style', () => {
  const text = configToYaml({ a: { b: [1, 2], c: 'x', n: null }, d: [[1, 2], [3]], e: [] });
  assert.equal(text, 'a:\n  b: [ 1, 2 ]\n  c: x\n  n: null\nd: [ [ 1, 2 ], [ 3 ] ]\ne: []\n');
});

test('writeParamsYaml writes model_dir/params.yaml and leaves no temporary file', () => {
  const modelDir = join(dir, 'model', 'nested');
  const path = writeParamsYaml(modelDir, { trainer: { train_steps: 5 } });
  assert.equal(path, join(modelDir, 'params.yaml'));
  assert.equal(readFileSync(path, 'utf8'), 'trainer:\n  train_steps: 5\n');
  writeParamsYaml(modelDir, { trainer: { train_steps: 6 } });
  assert.deepEqual(readdirSync(modelDir), ['params.yaml']);
  assert.deepEqual(loadYamlFile(path), { trainer: { train_steps: 6 } });
});
