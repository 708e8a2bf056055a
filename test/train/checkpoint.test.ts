import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {
  assignToVariables,
  CheckpointError,
  CheckpointManager,
  CheckpointMismatchError,
  describeRecovery,
  formatCheckpointState,
  parseCheckpointState,
  readCheckpointFile,
  removeStaleTempFiles,
  tensorsFromVariables,
  type CheckpointContent,
} from '../../src/train/checkpoint.js';
import { BestCheckpointExporter } from '../../src/train/best_checkpoint.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'vg-ckpt-manager-'));
}

/** A small checkpoint whose weight value encodes the step, so restores can be told apart. */
function contentFor(step: number): CheckpointContent {
  return {
    tensors: [
      {
        name: 'w',
        dtype: 'float32',
        shape: [2, 2],
        data: Float32Array.of(step, step + 0.5, -step, 1),
      },
      { name: 'global_step', dtype: 'int32', shape: [], data: Int32Array.of(step) },
    ],
    meta: { step, cursor: { epoch: 0, index: step * 8 } },
  };
}

/** Flips one byte inside tensor 'w' of a checkpoint written by contentFor. */
function corruptTensorBytes(path: string): void {
  const buf = readFileSync(path);
  const headerLength = buf.readUInt32LE(12);
  const header = JSON.parse(buf.subarray(24, 24 + headerLength).toString('utf8'));
  const dataStart = Math.ceil((24 + headerLength) / 64) * 64;
  buf[dataStart + header.tensors[0].offset + 2] ^= 0xff;
  writeFileSync(path, buf);
}

test('save writes ckpt-<step>.vgckpt and a TensorFlow CheckpointState pointer file', async () => {
  const dir = tempDir();
  try {
    const mgr = new CheckpointManager(dir);
    const t0 = Date.now() / 1000;
    const p10 = await mgr.save(10, contentFor(10));
    const p20 = await mgr.save(20, contentFor(20));
    const t1 = Date.now() / 1000;
    assert.equal(p10, join(dir, 'ckpt-10.vgckpt'));
    assert.equal(p20, join(dir, 'ckpt-20.vgckpt'));
    assert.deepEqual(readdirSync(dir).sort(), ['checkpoint', 'ckpt-10.vgckpt', 'ckpt-20.vgckpt']);

    const lines = readFileSync(join(dir, 'checkpoint'), 'utf8').trimEnd().split('\n');
    assert.deepEqual(lines.slice(0, 3), [
      'model_checkpoint_path: "ckpt-20.vgckpt"',
      'all_model_checkpoint_paths: "ckpt-10.vgckpt"',
      'all_model_checkpoint_paths: "ckpt-20.vgckpt"',
    ]);
    assert.equal(lines.length, 6);
    const stamps = lines.slice(3, 5).map((l) => {
      const m = /^all_model_checkpoint_timestamps: (\d+(\.\d+)?)$/.exec(l);
      assert.ok(m, l);
      return Number(m[1]);
    });
    for (const s of stamps)
      assert.ok(s >= t0 - 1 && s <= t1 + 1, `timestamp ${s} in [${t0}, ${t1}]`);
    assert.ok(stamps[0] <= stamps[1]);
    assert.match(lines[5], /^last_preserved_timestamp: \d+(\.\d+)?$/);

    assert.equal(await mgr.latestCheckpoint(), p20);
    assert.deepEqual(await mgr.checkpoints(), [p10, p20]);
    assert.ok(mgr.hasStep(10) && mgr.hasStep(20) && !mgr.hasStep(30));
    const r = await mgr.restore();
    assert.ok(r);
    assert.equal(r.step, 20);
    assert.deepEqual(r.meta, { step: 20, cursor: { epoch: 0, index: 160 } });
    assert.deepEqual([...r.tensors.get('w')!.data], [20, 20.5, -20, 1]);
    const r10 = await mgr.restore('ckpt-10.vgckpt');
    assert.equal(r10.step, 10);
    assert.deepEqual([...r10.tensors.get('global_step')!.data], [10]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('maxToKeep deletes the oldest checkpoints, never the one just written', async () => {
  const dir = tempDir();
  try {
    const mgr = new CheckpointManager(dir, { maxToKeep: 2 });
    for (const s of [10, 20, 30, 40]) await mgr.save(s, contentFor(s));
    assert.deepEqual(readdirSync(dir).sort(), ['checkpoint', 'ckpt-30.vgckpt', 'ckpt-40.vgckpt']);
    const state = parseCheckpointState(readFileSync(join(dir, 'checkpoint'), 'utf8'));
    assert.deepEqual(state.allModelCheckpointPaths, ['ckpt-30.vgckpt', 'ckpt-40.vgckpt']);
    assert.equal(state.allModelCheckpointTimestamps.length, 2);

    // Saving a lower step (a rewound run) keeps it, as the newest, and drops the oldest other.
    const p5 = await mgr.save(5, contentFor(5));
    assert.deepEqual(readdirSync(dir).sort(), ['checkpoint', 'ckpt-40.vgckpt', 'ckpt-5.vgckpt']);
    assert.equal(await mgr.latestCheckpoint(), p5);
    assert.deepEqual(await mgr.checkpoints(), [join(dir, 'ckpt-40.vgckpt'), p5]);

    const one = new CheckpointManager(join(dir, 'one'), { maxToKeep: 1, prefix: 'model' });
    await one.save(1, contentFor(1));
    await one.save(2, contentFor(2));
    assert.deepEqual(readdirSync(join(dir, 'one')).sort(), ['checkpoint', 'model-2.vgckpt']);

    const all = new CheckpointManager(join(dir, 'all'), { maxToKeep: Infinity });
    for (const s of [1, 2, 3, 4, 5, 6, 7]) await all.save(s, contentFor(s));
    assert.equal((await all.checkpoints()).length, 7);

    assert.throws(
      () => new CheckpointManager(dir, { maxToKeep: 0 }),
      /maxToKeep must be a positive integer/,
    );
    assert.throws(
      () => new CheckpointManager(dir, { prefix: 'a/b' }),
      /prefix must be a plain file name part/,
    );
    await assert.rejects(
      mgr.save(-1, contentFor(1)),
      /step must be a non-negative integer, got -1/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('overlapping saves run in order and leave a consistent pointer', async () => {
  const dir = tempDir();
  try {
    const mgr = new CheckpointManager(dir, { maxToKeep: 2 });
    const paths = await Promise.all([1, 2, 3, 4].map((s) => mgr.save(s, contentFor(s))));
    assert.deepEqual(
      paths,
      [1, 2, 3, 4].map((s) => join(dir, `ckpt-${s}.vgckpt`)),
    );
    assert.deepEqual(readdirSync(dir).sort(), ['checkpoint', 'ckpt-3.vgckpt', 'ckpt-4.vgckpt']);
    const state = parseCheckpointState(readFileSync(join(dir, 'checkpoint'), 'utf8'));
    assert.equal(state.modelCheckpointPath, 'ckpt-4.vgckpt');
    assert.deepEqual(state.allModelCheckpointPaths, ['ckpt-3.vgckpt', 'ckpt-4.vgckpt']);
    // A failed save (invalid content) does not block the ones queued after it.
    const bad = mgr.save(5, {
      tensors: [{ name: 'x', dtype: 'int32', shape: [1], data: Int32Array.of() }],
    });
    const good = mgr.save(6, contentFor(6));
    await assert.rejects(bad, /tensor 'x': shape \[1\] has 1 elements but data has 0/);
    assert.equal(await good, join(dir, 'ckpt-6.vgckpt'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('latestCheckpoint falls back to the newest valid file when the pointer is missing or stale', async () => {
  const dir = tempDir();
  try {
    const mgr = new CheckpointManager(dir);
    assert.equal(await mgr.latestCheckpoint(), null, 'directory does not exist yet');
    assert.equal(await mgr.restore(), null);
    for (const s of [2, 10, 9]) await mgr.save(s, contentFor(s));
    assert.equal(
      await mgr.latestCheckpoint(),
      join(dir, 'ckpt-9.vgckpt'),
      'pointer names last saved',
    );

    unlinkSync(join(dir, 'checkpoint'));
    assert.equal(await mgr.latestCheckpoint(), join(dir, 'ckpt-10.vgckpt'), 'by step, not by name');

    writeFileSync(join(dir, 'checkpoint'), 'model_checkpoint_path: "ckpt-99.vgckpt"\n');
    assert.equal(
      await mgr.latestCheckpoint(),
      join(dir, 'ckpt-10.vgckpt'),
      'pointer names a missing file',
    );

    writeFileSync(join(dir, 'checkpoint'), 'this is { not a checkpoint state');
    assert.equal(await mgr.latestCheckpoint(), join(dir, 'ckpt-10.vgckpt'), 'unparsable pointer');

    // Without a pointer, a truncated newest file is passed over.
    unlinkSync(join(dir, 'checkpoint'));
    truncateSync(join(dir, 'ckpt-10.vgckpt'), 100);
    assert.equal(await mgr.latestCheckpoint(), join(dir, 'ckpt-9.vgckpt'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a crash mid-write (partial .tmp file) leaves the previous checkpoint as the latest valid', async () => {
  const dir = tempDir();
  try {
    const mgr = new CheckpointManager(dir);
    await mgr.save(10, contentFor(10));
    const p20 = await mgr.save(20, contentFor(20));
    assert.ok(!readdirSync(dir).some((n) => n.includes('.tmp')), 'no temporary files after save');

    // What a process killed during save(30) leaves behind: half of the new file, under its tmp name.
    const full = readFileSync(p20);
    writeFileSync(join(dir, 'ckpt-30.vgckpt.tmp-99999'), full.subarray(0, full.length >> 1));
    assert.equal(await mgr.latestCheckpoint(), p20);
    assert.deepEqual(await mgr.checkpoints(), [join(dir, 'ckpt-10.vgckpt'), p20]);
    const rec = await mgr.restoreLatestValid();
    assert.equal(rec.checkpoint?.path, p20);
    assert.deepEqual(rec.skipped, []);

    // Killed after the rename but before the pointer update: the pointer still names ckpt-20.
    writeFileSync(join(dir, 'ckpt-30.vgckpt'), full);
    assert.equal(await mgr.latestCheckpoint(), p20);
    // The next save prunes by step and cleans nothing it should not.
    await mgr.save(40, contentFor(40));
    assert.deepEqual(
      (await mgr.checkpoints()).map((p) => p.slice(dir.length + 1)),
      ['ckpt-10.vgckpt', 'ckpt-20.vgckpt', 'ckpt-30.vgckpt', 'ckpt-40.vgckpt'],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('restore of a corrupt latest throws naming it; restoreLatestValid skips it and says why', async () => {
  const dir = tempDir();
  try {
    const mgr = new CheckpointManager(dir);
    await mgr.save(10, contentFor(10));
    await mgr.save(20, contentFor(20));
    const p30 = await mgr.save(30, contentFor(30));
    corruptTensorBytes(p30);

    await assert.rejects(mgr.restore(), (err: unknown) => {
      assert.ok(err instanceof CheckpointError);
      assert.equal(err.file, p30);
      assert.match(err.message, /ckpt-30\.vgckpt: CRC mismatch in tensor 'w'/);
      return true;
    });
    const rec = await mgr.restoreLatestValid();
    assert.equal(rec.checkpoint?.step, 20);
    assert.deepEqual([...rec.checkpoint!.tensors.get('w')!.data], [20, 20.5, -20, 1]);
    assert.equal(rec.skipped.length, 1);
    assert.equal(rec.skipped[0].path, p30);
    assert.match(rec.skipped[0].reason, /^CRC mismatch in tensor 'w'/);
    assert.match(
      describeRecovery(rec),
      /^ckpt-30\.vgckpt is corrupt \(CRC mismatch in tensor 'w' .*\); resuming from ckpt-20\.vgckpt$/,
    );

    // Two bad ones: a truncated 20 as well.
    truncateSync(join(dir, 'ckpt-20.vgckpt'), 200);
    const rec2 = await mgr.restoreLatestValid();
    assert.equal(rec2.checkpoint?.step, 10);
    assert.deepEqual(
      rec2.skipped.map((s) => [s.path.slice(dir.length + 1), s.reason.split(' (')[0]]),
      [
        ['ckpt-30.vgckpt', "CRC mismatch in tensor 'w'"],
        [
          'ckpt-20.vgckpt',
          `truncated at byte 200 of ${readFileSync(join(dir, 'ckpt-10.vgckpt')).length}`,
        ],
      ],
    );

    corruptTensorBytes(join(dir, 'ckpt-10.vgckpt'));
    const none = await mgr.restoreLatestValid();
    assert.equal(none.checkpoint, null);
    assert.equal(none.skipped.length, 3);
    assert.match(describeRecovery(none), /no valid checkpoint; starting from scratch$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('waitForNewCheckpoint resolves on a new save and returns null on timeout', async () => {
  const dir = tempDir();
  try {
    const trainer = new CheckpointManager(dir);
    const evaluator = new CheckpointManager(dir);
    const p10 = await trainer.save(10, contentFor(10));
    assert.equal(await evaluator.waitForNewCheckpoint(null, { timeoutMs: 50, pollMs: 10 }), p10);

    const waiting = evaluator.waitForNewCheckpoint(p10, { timeoutMs: 1500, pollMs: 20 });
    await new Promise((r) => setTimeout(r, 100));
    const p20 = await trainer.save(20, contentFor(20));
    assert.equal(await waiting, p20);

    assert.equal(await evaluator.waitForNewCheckpoint(p20, { timeoutMs: 150, pollMs: 30 }), null);
    assert.equal(
      await new CheckpointManager(join(dir, 'empty')).waitForNewCheckpoint(null, {
        timeoutMs: 60,
        pollMs: 20,
      }),
      null,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CheckpointState text parses TensorFlow output and round trips with escapes', () => {
  // As tf.train.CheckpointManager writes it (protobuf text format, relative paths).
  const tfText = [
    'model_checkpoint_path: "ckpt-3"',
    'all_model_checkpoint_paths: "ckpt-2"',
    'all_model_checkpoint_paths: "ckpt-3"',
    'all_model_checkpoint_timestamps: 1700000000.25',
    'all_model_checkpoint_timestamps: 1700000100.5',
    'last_preserved_timestamp: 1699999999.125',
    '',
  ].join('\n');
  const s = parseCheckpointState(tfText);
  assert.deepEqual(s, {
    modelCheckpointPath: 'ckpt-3',
    allModelCheckpointPaths: ['ckpt-2', 'ckpt-3'],
    allModelCheckpointTimestamps: [1700000000.25, 1700000100.5],
    lastPreservedTimestamp: 1699999999.125,
  });
  assert.equal(formatCheckpointState(s), tfText);

  const odd = {
    modelCheckpointPath: 'a "b"\\c é',
    allModelCheckpointPaths: ['a "b"\\c é'],
    allModelCheckpointTimestamps: [],
  };
  assert.deepEqual(parseCheckpointState(formatCheckpointState(odd)), odd);
  assert.equal(
    parseCheckpointState('model_checkpoint_path: "\\303\\251"').modelCheckpointPath,
    'é',
  );
  assert.throws(
    () => parseCheckpointState('all_model_checkpoint_paths: "x"', 'dir/checkpoint'),
    /dir\/checkpoint: no model_checkpoint_path/,
  );
  assert.throws(
    () => parseCheckpointState('model_checkpoint_path "x"'),
    /line 1: expected 'field: value'/,
  );
});

test('tensorsFromVariables and assignToVariables round trip tfjs variables through a file', async () => {
  await tf.setBackend('cpu');
  const dir = tempDir();
  const vars = [
    tf.variable(
      tf.tensor2d([
        [1.5, -2],
        [3, 4.25],
      ]),
      true,
      'ckpt_test_kernel',
    ),
    tf.variable(tf.tensor1d([7, -8, 9], 'int32'), false, 'ckpt_test_count'),
    tf.variable(tf.tensor1d([true, false], 'bool'), false, 'ckpt_test_flag'),
    tf.variable(tf.scalar(0.75), true, 'ckpt_test_scalar'),
  ];
  const names = ['dense/kernel', 'counter', 'flag', 'scale'];
  const fresh = vars.map((v, i) => tf.variable(tf.zerosLike(v), false, `ckpt_test_fresh_${i}`));
  try {
    const tensors = await tensorsFromVariables(vars.map((v, i) => ({ name: names[i], tensor: v })));
    assert.deepEqual(
      [...tensors.entries()].map(([n, t]) => [n, t.dtype, t.shape]),
      [
        ['dense/kernel', 'float32', [2, 2]],
        ['counter', 'int32', [3]],
        ['flag', 'bool', [2]],
        ['scale', 'float32', []],
      ],
    );
    const mgr = new CheckpointManager(dir);
    await mgr.save(1, { tensors, meta: {} });
    const back = await mgr.restore();
    assert.ok(back);
    const res = assignToVariables(
      back.tensors,
      fresh.map((v, i) => ({ name: names[i], variable: v })),
    );
    assert.deepEqual(res, { assigned: names, unused: [] });
    assert.deepEqual(await fresh[0].array(), [
      [1.5, -2],
      [3, 4.25],
    ]);
    assert.deepEqual(await fresh[1].array(), [7, -8, 9]);
    assert.deepEqual(await fresh[2].array(), [1, 0]);
    assert.equal(fresh[2].dtype, 'bool');
    assert.equal(await fresh[3].array(), 0.75);
  } finally {
    for (const v of [...vars, ...fresh]) v.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('assignToVariables lists missing, unexpected and mismatched names and assigns nothing', async () => {
  await tf.setBackend('cpu');
  const stored = new Map([
    ['a', { dtype: 'float32' as const, shape: [2], data: Float32Array.of(1, 2) }],
    ['b', { dtype: 'float32' as const, shape: [3], data: Float32Array.of(1, 2, 3) }],
    ['c', { dtype: 'int32' as const, shape: [1], data: Int32Array.of(5) }],
    ['extra', { dtype: 'float32' as const, shape: [1], data: Float32Array.of(0) }],
  ]);
  const a = tf.variable(tf.zeros([2]), true, 'assign_test_a');
  const b = tf.variable(tf.zeros([2]), true, 'assign_test_b');
  const c = tf.variable(tf.zeros([1]), true, 'assign_test_c');
  const d = tf.variable(tf.zeros([1]), true, 'assign_test_d');
  try {
    const targets = [
      { name: 'a', variable: a },
      { name: 'b', variable: b },
      { name: 'c', variable: c },
      { name: 'd', variable: d },
    ];
    assert.throws(
      () => assignToVariables(stored, targets, { source: 'ckpt-7.vgckpt' }),
      (err: unknown) => {
        assert.ok(err instanceof CheckpointMismatchError);
        assert.equal(
          err.message,
          "cannot restore from ckpt-7.vgckpt: 1 variable(s) missing from the checkpoint: 'd'. " +
            "1 checkpoint tensor(s) matched no variable: 'extra'. " +
            "2 shape/dtype mismatch(es): 'b': checkpoint float32[3] vs variable float32[2]; " +
            "'c': checkpoint int32[1] vs variable float32[1]",
        );
        assert.deepEqual(err.missing, ['d']);
        assert.deepEqual(err.unexpected, ['extra']);
        return true;
      },
    );
    assert.deepEqual(await a.array(), [0, 0], 'nothing assigned on error');

    // Non-strict: unused checkpoint tensors are fine, missing targets still are not.
    assert.throws(
      () => assignToVariables(stored, [{ name: 'd', variable: d }], { strict: false }),
      /missing from the checkpoint: 'd'/,
    );
    const res = assignToVariables(stored, [{ name: 'a', variable: a }], { strict: false });
    assert.deepEqual(res, { assigned: ['a'], unused: ['b', 'c', 'extra'] });
    assert.deepEqual(await a.array(), [1, 2]);
    assert.throws(
      () =>
        assignToVariables(
          stored,
          [
            { name: 'a', variable: a },
            { name: 'a', variable: b },
          ],
          { strict: false },
        ),
      /target name 'a' is given twice/,
    );
  } finally {
    for (const v of [a, b, c, d]) v.dispose();
  }
});

test('checkpoint files written by the manager read back with readCheckpointFile', async () => {
  const dir = tempDir();
  try {
    const p = await new CheckpointManager(dir, { prefix: 'model' }).save(3, contentFor(3));
    assert.ok(existsSync(p));
    const data = await readCheckpointFile(p, { names: ['global_step'] });
    assert.deepEqual([...data.tensors.get('global_step')!.data], [3]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('max_to_keep counts only checkpoints whose header verifies: a damaged one never displaces a valid one', async () => {
  const dir = tempDir();
  try {
    const mgr = new CheckpointManager(dir, { maxToKeep: 2 });
    await mgr.save(1, contentFor(1));
    // A higher-numbered file that is not a checkpoint (as left by disk damage).
    writeFileSync(join(dir, 'ckpt-9.vgckpt'), 'not a checkpoint');
    await mgr.save(2, contentFor(2));
    await mgr.save(3, contentFor(3));
    // ckpt-1 went (the oldest valid beyond 2); ckpt-9 was neither counted nor deleted.
    assert.deepEqual(readdirSync(dir).sort(), [
      'checkpoint',
      'ckpt-2.vgckpt',
      'ckpt-3.vgckpt',
      'ckpt-9.vgckpt',
    ]);
    const moved = await mgr.quarantine('ckpt-9.vgckpt');
    assert.equal(moved, join(dir, 'ckpt-9.vgckpt.corrupt'));
    assert.deepEqual(await mgr.checkpoints(), [
      join(dir, 'ckpt-2.vgckpt'),
      join(dir, 'ckpt-3.vgckpt'),
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('removeStaleTempFiles deletes *.tmp-PID files of dead processes only', async () => {
  const dir = tempDir();
  try {
    // A pid above Linux's pid_max (2^22) cannot be running.
    const dead = 'ckpt-5.vgckpt.tmp-4194999';
    const mine = `ckpt-6.vgckpt.tmp-${process.pid}`;
    const parent = `checkpoint.tmp-${process.ppid}`;
    for (const n of [dead, mine, parent, 'ckpt-7.vgckpt.tmp-x']) writeFileSync(join(dir, n), '');
    assert.deepEqual(await removeStaleTempFiles(dir), [join(dir, dead)]);
    assert.deepEqual(
      readdirSync(dir).sort(),
      [
        'checkpoint.tmp-' + process.ppid,
        'ckpt-6.vgckpt.tmp-' + process.pid,
        'ckpt-7.vgckpt.tmp-x',
      ].sort(),
    );
    assert.deepEqual(await removeStaleTempFiles(join(dir, 'missing')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('BestCheckpointExporter keeps the best checkpoint and info.json in its own folder', async () => {
  const dir = tempDir();
  try {
    const exp = new BestCheckpointExporter(dir, 'best_ckpt', 'accuracy', 'higher');
    assert.equal((await exp.maybeExport(contentFor(1), 1, { accuracy: 0.5, loss: 2 }))?.value, 0.5);
    // Not better (a tie): the content function is never called.
    const unread = () => Promise.reject(new Error('content read without an export'));
    assert.equal(await exp.maybeExport(unread, 2, { accuracy: 0.5, loss: 1 }), null);
    assert.equal(await exp.maybeExport(contentFor(3), 3, { accuracy: Number.NaN }), null);
    const best = await exp.maybeExport(contentFor(4), 4, { accuracy: 0.75, loss: 1 });
    assert.equal(best?.path, join(dir, 'best_ckpt', 'best_ckpt-4.vgckpt'));
    assert.deepEqual(readdirSync(join(dir, 'best_ckpt')).sort(), [
      'best_ckpt-4.vgckpt',
      'checkpoint',
      'info.json',
    ]);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'best_ckpt', 'info.json'), 'utf8')), {
      accuracy: 0.75,
      loss: 1,
      best_ckpt_global_step: 4,
    });
    assert.deepEqual(readdirSync(dir), ['best_ckpt'], 'nothing is written beside best_ckpt/');
    // A new exporter (a restarted evaluator) compares against the recorded best.
    const lower = new BestCheckpointExporter(dir, 'best_ckpt', 'loss', 'lower');
    assert.equal(await lower.maybeExport(contentFor(5), 5, { accuracy: 0.1, loss: 1 }), null);
    assert.ok(await lower.maybeExport(contentFor(6), 6, { accuracy: 0.1, loss: 0.5 }));
    await assert.rejects(
      lower.maybeExport(contentFor(7), 7, { accuracy: 1 }),
      /best_checkpoint_eval_metric 'loss' is not an eval result; have: accuracy/,
    );
    assert.throws(
      () => new BestCheckpointExporter(dir, '.', 'loss', 'lower'),
      /best_checkpoint_export_subdir '\.' is model_dir itself/,
    );
    writeFileSync(join(dir, 'best_ckpt', 'info.json'), '{"loss": "x"}');
    await assert.rejects(lower.bestValue(), /info\.json: 'loss' is missing or not a number/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
