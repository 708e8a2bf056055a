/**
 * Signals during training (issue 19, item 4): SIGINT/SIGTERM stop after the current step with a
 * checkpoint (trainer.preemption_on_demand_checkpoint, Model Garden's default true) and exit
 * 130/143; without the flag nothing is written; a second signal exits at once; temporary files of
 * killed saves are removed at the next start when their process is gone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readCheckpointFile } from '../../src/train/checkpoint.js';
import { PAUSE_AT_ENV } from '../../src/train/fault_injection.js';
import { checkpointSteps, runCli, startCli, tempDir } from './cli_run.js';

/** Trains "forever" with no periodic checkpoints: any checkpoint is an on-demand one. */
const endless = {
  'trainer.train_steps': 100000,
  'trainer.checkpoint_interval': 0,
};

test('SIGINT writes a checkpoint at the current step and exits 130; resuming from it is exact', async () => {
  const dir = tempDir('sigint');
  const p = startCli('train', dir, endless);
  await p.waitFor(/training steps 0→100000/);
  await sleep(500);
  p.child.kill('SIGINT');
  const r = await p.done;
  assert.equal(r.code, 130, r.all);
  assert.match(r.stderr, /SIGINT received; stopping after the current step/);
  const m = /training stopped by SIGINT at step (\d+); its state is in \S*ckpt-(\d+)\.vgckpt/.exec(
    r.stderr,
  );
  assert.ok(m, r.stderr);
  const step = Number(m[1]);
  assert.equal(Number(m[2]), step);
  assert.deepEqual(checkpointSteps(dir), [step]);
  const data = await readCheckpointFile(join(dir, `ckpt-${step}.vgckpt`));
  assert.equal(data.meta.step, step);

  // step + 3 steps after the interruption equal step + 3 steps in one go.
  const ref = tempDir('sigint-ref');
  const to = { ...endless, 'trainer.train_steps': step + 3 };
  const [resumed, whole] = await Promise.all([runCli('train', dir, to), runCli('train', ref, to)]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(whole.code, 0, whole.stderr);
  assert.match(resumed.all, new RegExp(`resumed from \\S*ckpt-${step}\\.vgckpt`));
  const file = `ckpt-${step + 3}.vgckpt`;
  assert.ok(readFileSync(join(dir, file)).equals(readFileSync(join(ref, file))));
});

test('SIGTERM with preemption_on_demand_checkpoint false exits 143 and writes nothing', async () => {
  const dir = tempDir('sigterm');
  const p = startCli('train', dir, {
    ...endless,
    'trainer.preemption_on_demand_checkpoint': false,
  });
  await p.waitFor(/training steps 0→100000/);
  await sleep(300);
  p.child.kill('SIGTERM');
  const r = await p.done;
  assert.equal(r.code, 143, r.all);
  assert.match(r.stderr, /training stopped by SIGTERM at step \d+; no checkpoint written/);
  assert.deepEqual(checkpointSteps(dir), []);
});

test('a second signal exits at once; the next start removes only dead writers\u2019 temporary files', async () => {
  const dir = tempDir('twice');
  // The on-demand save (the first atomic write) holds still once its temporary file is written.
  const p = startCli('train', dir, endless, { env: { [PAUSE_AT_ENV]: 'synced:1' } });
  await p.waitFor(/training steps 0→100000/);
  p.child.kill('SIGINT');
  await p.waitFor(/SIGINT received/);
  const tmpOf = () => readdirSync(dir).filter((n) => /\.vgckpt\.tmp-\d+$/.test(n));
  while (tmpOf().length === 0) {
    assert.equal(p.child.exitCode, null, p.output());
    await sleep(50);
  }
  p.child.kill('SIGINT');
  const r = await p.done;
  assert.equal(r.code, 130, r.all);
  assert.match(r.stderr, /second SIGINT; exiting at once/);
  const [dead] = tmpOf();
  assert.equal(dead, `${/ckpt-\d+\.vgckpt/.exec(dead)![0]}.tmp-${p.child.pid}`);
  assert.deepEqual(checkpointSteps(dir), [], 'the interrupted save never became a checkpoint');

  // A temporary file whose writer is alive (this test process) is left alone.
  const live = `ckpt-999.vgckpt.tmp-${process.pid}`;
  writeFileSync(join(dir, live), 'in progress');
  const next = await runCli('train', dir, { ...endless, 'trainer.train_steps': 2 });
  assert.equal(next.code, 0, next.stderr);
  assert.match(
    next.all,
    new RegExp(`removed ${dead.replace(/\./g, '\\.')}, left by an interrupted save`),
  );
  assert.ok(!existsSync(join(dir, dead)));
  assert.ok(existsSync(join(dir, live)));
  assert.deepEqual(checkpointSteps(dir), [2]);
});
