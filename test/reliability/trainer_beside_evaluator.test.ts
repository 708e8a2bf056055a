/**
 * `train` and `continuous_eval` on one model_dir (issue 19, item 1): the evaluator exports its best
 * checkpoint to best_ckpt/ only and never writes, repoints or deletes a training checkpoint, so
 * every trainer checkpoint stays byte-identical to an uninterrupted run's and a killed trainer
 * resumes exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CheckpointManager } from '../../src/train/checkpoint.js';
import { PAUSE_AT_ENV } from '../../src/train/fault_injection.js';
import {
  checkpointSteps,
  runCli,
  sameBytes,
  savedSteps,
  startCli,
  tempDir,
  type CliResult,
} from './cli_run.js';

const STEPS = 200;
const INTERVAL = 5;
const settings = {
  'trainer.train_steps': STEPS,
  'trainer.checkpoint_interval': INTERVAL,
  'trainer.best_checkpoint_export_subdir': 'best_ckpt',
  'trainer.best_checkpoint_eval_metric': 'accuracy',
};

// The uninterrupted run, keeping every checkpoint, shared by both tests.
const refDir = tempDir('ref-eval');
const ref = runCli('train', refDir, { ...settings, 'trainer.max_to_keep': 1000 });
const refDone = (async () => {
  const r = await ref;
  assert.equal(r.code, 0, r.all);
})();
const refFile = (step: number) => join(refDir, `ckpt-${step}.vgckpt`);

function assertOk(r: CliResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed:\n${r.all}`);
}

/** best_ckpt/ holds one best_ckpt-K file, its pointer and info.json naming K; returns K. */
function bestExport(dir: string): number {
  const info = JSON.parse(readFileSync(join(dir, 'best_ckpt', 'info.json'), 'utf8')) as {
    best_ckpt_global_step: number;
    accuracy: number;
  };
  const k = info.best_ckpt_global_step;
  assert.equal(typeof info.accuracy, 'number');
  assert.deepEqual(readdirSync(join(dir, 'best_ckpt')).sort(), [
    `best_ckpt-${k}.vgckpt`,
    'checkpoint',
    'info.json',
  ]);
  return k;
}

/**
 * Hashes every `ckpt-N.vgckpt` seen in `dir` (each new file version once) until `until` settles:
 * step → the hashes seen for it.
 */
async function watchCheckpoints(
  dir: string,
  until: Promise<unknown>,
): Promise<Map<number, Set<string>>> {
  const seen = new Map<number, Set<string>>();
  const versions = new Set<string>();
  let finished = false;
  void until.finally(() => (finished = true));
  for (;;) {
    const last = finished;
    for (const step of checkpointSteps(dir)) {
      const file = join(dir, `ckpt-${step}.vgckpt`);
      try {
        const st = statSync(file);
        const version = `${step}:${st.ino}:${st.mtimeMs}:${st.size}`;
        if (versions.has(version)) continue;
        versions.add(version);
        const hash = createHash('sha256').update(readFileSync(file)).digest('hex');
        if (!seen.has(step)) seen.set(step, new Set());
        seen.get(step)!.add(hash);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // pruned meanwhile
      }
    }
    if (last) return seen;
    await sleep(100);
  }
}

test(`train and continuous_eval on one model_dir for ${STEPS} steps: every trainer checkpoint intact`, async (t) => {
  const dir = tempDir('pair');
  // max_to_keep 1 (the setting): each file the evaluator reads is pruned soon after.
  const own = { ...settings, 'trainer.max_to_keep': 1 };
  const trainer = startCli('train', dir, own);
  const evaluator = startCli('continuous_eval', dir, {
    ...own,
    'trainer.continuous_eval_timeout': 60,
  });
  const both = Promise.all([trainer.done, evaluator.done]);
  const watched = watchCheckpoints(dir, both);
  const [tr, ev] = await both;
  assertOk(tr, 'train');
  assertOk(ev, 'continuous_eval');
  await refDone;

  const saves = savedSteps(tr.all);
  assert.deepEqual(
    saves,
    Array.from({ length: STEPS / INTERVAL }, (_, i) => (i + 1) * INTERVAL),
  );
  const evals = [...ev.all.matchAll(/eval @ step (\d+)/g)].map((m) => Number(m[1]));
  assert.ok(evals.length >= 2, `the evaluator evaluated ${evals.length} checkpoint(s)`);
  assert.equal(evals.at(-1), STEPS);
  assert.doesNotMatch(ev.all, /saved checkpoint/, 'the evaluator saved a checkpoint');

  // Every checkpoint file seen in model_dir during the run was the trainer's, byte for byte the
  // uninterrupted run's; the last one and the pointer naming it remain.
  const seen = await watched;
  for (const [step, hashes] of seen) {
    const want = createHash('sha256')
      .update(readFileSync(refFile(step)))
      .digest('hex');
    assert.deepEqual([...hashes], [want], `ckpt-${step} was not (only) the trainer's`);
  }
  assert.deepEqual(checkpointSteps(dir), [STEPS]);
  assert.ok(sameBytes(join(dir, `ckpt-${STEPS}.vgckpt`), refFile(STEPS)));
  const state = await new CheckpointManager(dir).readState();
  assert.equal(state?.modelCheckpointPath, `ckpt-${STEPS}.vgckpt`);
  assert.deepEqual(
    state?.allModelCheckpointPaths,
    checkpointSteps(dir).map((s) => `ckpt-${s}.vgckpt`),
  );
  // The best export is an exact copy of the evaluated trainer checkpoint, in best_ckpt/ only.
  const k = bestExport(dir);
  assert.ok(sameBytes(join(dir, 'best_ckpt', `best_ckpt-${k}.vgckpt`), refFile(k)));
  assert.deepEqual(
    readdirSync(dir)
      .filter((n) => !/^ckpt-\d+\.vgckpt$/.test(n))
      .sort(),
    ['best_ckpt', 'checkpoint', 'params.yaml', 'train', 'validation'],
  );
  t.diagnostic(
    `${saves.length} trainer saves, ${evals.length} evaluations beside them, ${seen.size} checkpoint files seen and checked`,
  );
});

test('a trainer killed after the evaluator exported (max_to_keep 1) resumes from its own newest checkpoint, exactly', async () => {
  const dir = tempDir('repro');
  const own = { ...settings, 'trainer.max_to_keep': 1 };
  // The trainer holds still inside its third save (step 15's file written, not yet renamed)
  // while the evaluator evaluates and exports its newest checkpoint, ckpt-10, and gives up
  // waiting for another; then the trainer is killed.
  const trainer = startCli('train', dir, own, { env: { [PAUSE_AT_ENV]: 'synced:5' } });
  await trainer.waitFor(/saved checkpoint \S*ckpt-10\.vgckpt/);
  const ev = await runCli('continuous_eval', dir, { ...own, 'trainer.continuous_eval_timeout': 2 });
  assertOk(ev, 'continuous_eval');
  assert.match(ev.all, /new best accuracy = \S+ at step 10 /);
  trainer.child.kill('SIGKILL');
  const tr = await trainer.done;
  assert.equal(tr.signal, 'SIGKILL');
  assert.deepEqual(savedSteps(tr.all), [5, 10]);
  assert.deepEqual(checkpointSteps(dir), [10]);
  const state = await new CheckpointManager(dir).readState();
  assert.equal(state?.modelCheckpointPath, 'ckpt-10.vgckpt');
  assert.ok(
    readdirSync(dir).some((n) => /^ckpt-15\.vgckpt\.tmp-\d+$/.test(n)),
    'the killed save left its temporary file',
  );

  const resumed = await runCli('train', dir, { ...own, 'trainer.train_steps': 20 });
  assertOk(resumed, 'the resumed train');
  assert.match(resumed.all, /resumed from \S*ckpt-10\.vgckpt/);
  assert.match(resumed.all, /removed ckpt-15\.vgckpt\.tmp-\d+, left by an interrupted save/);
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.includes('.tmp-')),
    [],
  );
  await refDone;
  assert.deepEqual(checkpointSteps(dir), [20]);
  assert.ok(sameBytes(join(dir, 'ckpt-20.vgckpt'), refFile(20)), 'resumed run differs');
  assert.ok(sameBytes(join(dir, 'best_ckpt', 'best_ckpt-10.vgckpt'), refFile(10)));
});
