/**
 * `vision-garden inspect-checkpoint` as a user runs it (bin/vision-garden.js in a child process,
 * needs `npm run build`): its listing must equal `tf.train.list_variables` as recorded in the
 * fixtures' variables.json.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, sharedData } from '../helpers.js';

const BIN = join(REPO_ROOT, 'bin', 'vision-garden.js');

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, CI: 'true' },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const expectedList = (file: string) =>
  (
    JSON.parse(readFileSync(file, 'utf8')) as { name: string; shape: number[]; dtype: string }[]
  ).map(({ name, shape, dtype }) => ({ name, shape, dtype }));

test('inspect-checkpoint --json lists a Model Garden checkpoint as tf.train.list_variables', () => {
  const caseDir = sharedData('model-garden-reference', 'retinanet_spinenet');
  const r = cli(['inspect-checkpoint', join(caseDir, 'ckpt'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    variables: expectedList(join(caseDir, 'variables.json')),
  });
});

test('inspect-checkpoint DIR follows the checkpoint state file; the table has every variable', () => {
  const dir = sharedData('tf-checkpoint');
  const expected = expectedList(join(dir, 'variables.json'));
  const r = cli(['inspect-checkpoint', dir]);
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.trimEnd().split('\n');
  assert.match(rows[0], /^name\s+dtype\s+shape$/);
  assert.deepEqual(
    rows.slice(1).map((line) => {
      const m = /^(\S+)\s+(\S+)\s+\[([\d, ]*)\]$/.exec(line);
      assert.ok(m, line);
      return { name: m[1], shape: m[3] === '' ? [] : m[3].split(', ').map(Number), dtype: m[2] };
    }),
    expected,
  );
});

test('inspect-checkpoint on a missing prefix is one clear line', () => {
  const r = cli(['inspect-checkpoint', join(REPO_ROOT, 'no-such-ckpt')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no-such-ckpt\.index not found/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});
