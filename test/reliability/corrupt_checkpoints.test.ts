/**
 * Damaged checkpoints (issue 19, item 2): with none valid, `train` stops with one line naming
 * them and changes nothing; `--start_over` moves them aside and trains from step 0 without the
 * damaged files ever displacing the new ones; a damaged newest checkpoint is moved aside and
 * training resumes, exactly, from the newest valid one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointSteps, runCli, tempDir, type CliResult } from './cli_run.js';

const ckpt = (dir: string, step: number) => join(dir, `ckpt-${step}.vgckpt`);
const settings = (steps: number, keep: number) => ({
  'trainer.train_steps': steps,
  'trainer.checkpoint_interval': 5,
  'trainer.max_to_keep': keep,
});

function assertOk(r: CliResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed:\n${r.all}`);
}

/** Flips one byte in the middle of the file: inside tensor data, so only the tensor CRC sees it. */
function flipDataByte(path: string): void {
  const bytes = readFileSync(path);
  bytes[Math.floor(bytes.length / 2)] ^= 0x40;
  writeFileSync(path, bytes);
}

test('all checkpoints damaged: train stops naming them; --start_over moves them aside and starts from step 0', async () => {
  const dir = tempDir('all-bad');
  assertOk(await runCli('train', dir, settings(10, 2)), 'train to 10');
  const good10 = readFileSync(ckpt(dir, 10));
  assertOk(await runCli('train', dir, settings(20, 2)), 'train to 20');
  assert.deepEqual(checkpointSteps(dir), [15, 20]);
  truncateSync(ckpt(dir, 20), Math.floor(statSync(ckpt(dir, 20)).size / 2));
  flipDataByte(ckpt(dir, 15));
  const damaged = [15, 20].map((s) => readFileSync(ckpt(dir, s)));

  const r = await runCli('train', dir, settings(30, 2));
  assert.equal(r.code, 1, r.all);
  const error = r.stderr.split('\n').filter((l) => l.startsWith('vision-garden:'));
  assert.equal(error.length, 1, r.stderr);
  assert.match(error[0], /no valid checkpoint in .*ckpt-20\.vgckpt \(.*truncated.*\)/);
  assert.match(error[0], /ckpt-15\.vgckpt \(.*CRC.*\)/);
  assert.match(error[0], /--start_over/);
  assert.deepEqual(checkpointSteps(dir), [15, 20], 'nothing was written or deleted');
  [15, 20].forEach((s, i) => assert.ok(readFileSync(ckpt(dir, s)).equals(damaged[i])));

  // Starting over with max_to_keep 1: the damaged higher-numbered files must not push out the
  // new checkpoints (they are moved aside), and the new run is the original one, bit for bit.
  const s = await runCli('train', dir, settings(10, 1), { args: ['--start_over'] });
  assertOk(s, 'train --start_over');
  assert.match(s.all, /training steps 0→10\n/);
  assert.match(s.all, /ckpt-20\.vgckpt is corrupt \(.*\); moved to ckpt-20\.vgckpt\.corrupt/);
  assert.match(s.all, /ckpt-15\.vgckpt is corrupt \(.*\); moved to ckpt-15\.vgckpt\.corrupt/);
  assert.deepEqual(checkpointSteps(dir), [10]);
  assert.ok(readFileSync(ckpt(dir, 10)).equals(good10), 'the restarted run differs');
  assert.ok(readFileSync(ckpt(dir, 20) + '.corrupt').equals(damaged[1]));

  // With a valid checkpoint present, --start_over is refused rather than ignored.
  const again = await runCli('train', dir, settings(10, 1), { args: ['--start_over'] });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /--start_over: ckpt-10\.vgckpt in .* is a valid checkpoint/);
});

test('a damaged newest checkpoint is moved aside and training resumes exactly from the previous one', async () => {
  const ref = tempDir('ref-newest');
  const dir = tempDir('newest-bad');
  const [a, b] = await Promise.all([
    runCli('train', ref, settings(20, 10)),
    runCli('train', dir, settings(15, 3)),
  ]);
  assertOk(a, 'reference train');
  assertOk(b, 'train to 15');
  flipDataByte(ckpt(dir, 15));
  const r = await runCli('train', dir, settings(20, 2));
  assertOk(r, 'resumed train');
  assert.match(r.all, /ckpt-15\.vgckpt is corrupt \(CRC.*\); moved to ckpt-15\.vgckpt\.corrupt/);
  assert.match(r.all, /resumed from \S*ckpt-10\.vgckpt/);
  assert.deepEqual(checkpointSteps(dir), [15, 20]);
  for (const s of [15, 20]) {
    assert.ok(readFileSync(ckpt(dir, s)).equals(readFileSync(ckpt(ref, s))), `ckpt-${s} differs`);
  }
  assert.ok(existsSync(ckpt(dir, 15) + '.corrupt'));
});
