/**
 * Fault injection: a training process is SIGKILLed at 20 seeded points of its checkpoint saves
 * (a byte of the checkpoint or pointer file, or a phase of their atomic writes: fsynced,
 * renamed, done), each time resuming from what the previous one left. After every kill each
 * checkpoint in model_dir must be byte-identical to the uninterrupted run's file of that step and
 * nothing completed may be lost; at the end the run must equal the uninterrupted one bit for bit
 * (weights, optimizer slots, EMA, step, RNG and data position are all in the file).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../src/core/random.js';
import { CheckpointManager } from '../../src/train/checkpoint.js';
import { KILL_AT_ENV, WRITE_PHASES } from '../../src/train/fault_injection.js';
import { checkpointSteps, runCli, savedSteps, startCli, tempDir } from './cli_run.js';

const STEPS = 200;
const INTERVAL = 4;
const TRIALS = 20;
const SEED = 19;

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const tempFiles = (dir: string) => readdirSync(dir).filter((n) => /\.tmp-\d+$/.test(n));

test(`SIGKILL at ${TRIALS} seeded points of checkpoint saves, each resumed: bit-identical to an uninterrupted run`, async (t) => {
  const settings = { 'trainer.train_steps': STEPS, 'trainer.checkpoint_interval': INTERVAL };
  // The uninterrupted run keeps every checkpoint; it runs beside the faulty chain.
  const refDir = tempDir('ref');
  const ref = startCli('train', refDir, { ...settings, 'trainer.max_to_keep': 1000 });
  await ref.waitFor(/saved checkpoint \S*ckpt-4\.vgckpt/);
  const fileBytes = statSync(join(refDir, 'ckpt-4.vgckpt')).size;

  const dir = tempDir('faults');
  const rng = new Rng(SEED);
  const seen: { trial: number; spec: string; hashes: Map<number, string> }[] = [];
  let completed = 0; // newest step whose save completed in an earlier process
  let leftTemp = 0;
  let removedTemp = 0;
  for (let trial = 0; trial < TRIALS; trial++) {
    // Die in the first or second save of this process (so the chain never reaches STEPS), in
    // its checkpoint file or its pointer file.
    const save = 1 + rng.int(2);
    // Half the kills at a byte of the data written, half at a phase of an atomic write.
    const perSave = fileBytes + 100; // the pointer file is 150-300 bytes
    const spec =
      rng.int(2) === 0
        ? `byte:${(save - 1) * perSave + rng.int(perSave)}`
        : `${WRITE_PHASES[rng.int(WRITE_PHASES.length)]}:${2 * (save - 1) + 1 + rng.int(2)}`;
    const r = await runCli(
      'train',
      dir,
      { ...settings, 'trainer.max_to_keep': 2 },
      {
        env: { [KILL_AT_ENV]: spec },
      },
    );
    const what = `trial ${trial} (${KILL_AT_ENV}=${spec})`;
    assert.equal(r.signal, 'SIGKILL', `${what} was not killed:\n${r.all}`);
    removedTemp += r.all.match(/left by an interrupted save/g)?.length ?? 0;
    leftTemp += tempFiles(dir).length;

    // Nothing at a checkpoint's final name is ever partial, and nothing completed is lost.
    const found = await new CheckpointManager(dir).restoreLatestValid();
    assert.deepEqual(found.skipped, [], `${what} left a damaged checkpoint`);
    const latest = found.checkpoint?.step ?? 0;
    const before = Math.max(completed, ...savedSteps(r.all));
    assert.ok(latest >= before, `${what}: resumable step ${latest} < completed step ${before}`);
    completed = latest;
    const hashes = new Map(
      checkpointSteps(dir).map((s) => [s, sha(join(dir, `ckpt-${s}.vgckpt`))]),
    );
    seen.push({ trial, spec, hashes });
  }

  const last = await runCli('train', dir, { ...settings, 'trainer.max_to_keep': 2 });
  assert.equal(last.code, 0, last.all);
  removedTemp += last.all.match(/left by an interrupted save/g)?.length ?? 0;
  assert.deepEqual(
    tempFiles(dir),
    [],
    'temporary files of killed saves are removed at the next start',
  );
  assert.equal(removedTemp, leftTemp, 'each start removes the temporary files the last kill left');

  const refResult = await ref.done;
  assert.equal(refResult.code, 0, refResult.all);
  for (const { trial, spec, hashes } of seen) {
    for (const [step, h] of hashes) {
      assert.equal(
        h,
        sha(join(refDir, `ckpt-${step}.vgckpt`)),
        `after trial ${trial} (${spec}) ckpt-${step} differs from the uninterrupted run's`,
      );
    }
  }
  assert.deepEqual(checkpointSteps(dir), [STEPS - INTERVAL, STEPS]);
  assert.equal(
    sha(join(dir, `ckpt-${STEPS}.vgckpt`)),
    sha(join(refDir, `ckpt-${STEPS}.vgckpt`)),
    'the final checkpoint is bit-identical to the uninterrupted run',
  );
  const kinds = new Map<string, number>();
  for (const { spec } of seen)
    kinds.set(spec.split(':')[0], (kinds.get(spec.split(':')[0]) ?? 0) + 1);
  t.diagnostic(
    `${TRIALS} kills (${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}); ${leftTemp} temporary files left and removed; final step ${STEPS} identical`,
  );
});
