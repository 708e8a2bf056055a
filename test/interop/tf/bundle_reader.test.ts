/**
 * TensorBundle reader against real TF2 checkpoints: the Model Garden reference cases and the
 * tf.keras fixture (../shared/data). Listings must equal `tf.train.list_variables` as recorded in
 * each variables.json; values are checked against facts recorded independently of our reader
 * (the perturbation ranges and counts in case.json, save_counter = 1, the float64 reference
 * stem activations in expected.json, object_graph.pbtxt).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTensorBundle, OBJECT_GRAPH_KEY } from '../../../src/interop/tf/bundle_reader.js';
import { checkpointKey, checkpointKeyPaths } from '../../../src/interop/tf/object_graph.js';
import { REPO_ROOT, sharedData } from '../../helpers.js';

const MG = sharedData('model-garden-reference');
const TFCK = sharedData('tf-checkpoint');
const CASES = readdirSync(MG)
  .filter((d) => !d.includes('.'))
  .sort();

interface JsonVar {
  name: string;
  shape: number[];
  dtype: string;
  keras_name?: string | null;
}
const loadJson = <T>(p: string): T => JSON.parse(readFileSync(p, 'utf8')) as T;

test('the reference cases are all present', () => {
  assert.equal(CASES.length, 11, CASES.join(','));
});

for (const c of CASES) {
  test(`${c}: lists as tf.train.list_variables and reads values consistent with case.json`, () => {
    const expected = loadJson<JsonVar[]>(join(MG, c, 'variables.json'));
    const caseJson = loadJson<{
      perturbation: {
        gamma: number;
        beta: number;
        bn_moving_variance: number;
        constant_redrawn: string[];
      };
      head_calibration?: { layers: string[] }[];
    }>(join(MG, c, 'case.json'));
    const b = openTensorBundle(join(MG, c, 'ckpt'));
    try {
      assert.deepEqual(
        b.variables(),
        expected.map(({ name, shape, dtype }) => ({ name, shape, dtype })),
      );
      const names = b.variables().map((v) => v.name);
      const ending = (s: string) =>
        names.filter((n) => n.endsWith(`/${s}/.ATTRIBUTES/VARIABLE_VALUE`));
      // Every gamma (BN and LayerNorm) was drawn from U(0.75, 1.25).
      const gammas = ending('gamma');
      assert.equal(gammas.length, caseJson.perturbation.gamma);
      for (const n of gammas) {
        const t = b.read(n);
        assert.equal(t.dtype, 'float32');
        for (const v of t.values as Float32Array) assert.ok(v >= 0.75 && v <= 1.25, `${n}: ${v}`);
      }
      assert.equal(ending('beta').length, caseJson.perturbation.beta);
      for (const n of ending('moving_variance')) {
        for (const v of b.read(n).values as Float32Array) assert.ok(v > 0, `${n}: ${v}`);
      }
      assert.equal(ending('moving_variance').length, caseJson.perturbation.bn_moving_variance);
      // Variables that were constant got seeded noise: "<keras name>:0 [shape] (was V)".
      const byKeras = new Map(expected.map((v) => [v.keras_name, v.name]));
      for (const entry of caseJson.perturbation.constant_redrawn) {
        const m = /^(.*):0 \[([\d, ]*)\] \(was (-?[\d.e+-]+)\)$/.exec(entry);
        assert.ok(m, entry);
        const name = byKeras.get(m[1]);
        assert.ok(name, `no variable for ${m[1]}`);
        const t = b.read(name);
        assert.deepEqual(t.shape, m[2] === '' ? [] : m[2].split(',').map(Number), entry);
        const vals = Array.from(t.values as Float32Array);
        if (vals.length > 1)
          assert.ok(
            vals.some((v) => v !== vals[0]),
            `${entry} still constant`,
          );
        // Head calibration (case.json) later shifted the biases of the final prediction layers.
        const calibrated = (caseJson.head_calibration ?? []).flatMap((h) => h.layers);
        if (m[1].split('/').some((part) => calibrated.some((l) => part.startsWith(l)))) continue;
        const mean = vals.reduce((a, v) => a + v, 0) / vals.length;
        assert.ok(Math.abs(mean - Number(m[3])) <= 0.6, `${entry}: mean ${mean}`);
      }
      // Every variable reads (checksums verified) with as many values as its shape says.
      for (const v of b.variables()) {
        const t = b.read(v.name);
        assert.equal(
          t.values.length,
          v.shape.reduce((a, d) => a * d, 1),
          v.name,
        );
      }
      // The object graph names every variable key; each key is the escaped path to its node.
      const graph = b.objectGraph();
      assert.ok(graph);
      const paths = checkpointKeyPaths(graph);
      assert.deepEqual(
        [...paths.keys()].sort(),
        names.filter((n) => n !== OBJECT_GRAPH_KEY),
      );
      for (const [key, p] of paths) {
        assert.equal(p.path[0], 'model', key);
        assert.equal(p.attribute, 'VARIABLE_VALUE', key);
        assert.equal(checkpointKey(p.path, p.attribute), key);
      }
    } finally {
      b.close();
    }
  });
}

test('tf-checkpoint: directory → checkpoint state file → ckpt-1; list, save_counter, stem values', () => {
  const b = openTensorBundle(TFCK);
  try {
    assert.equal(b.prefix, join(TFCK, 'ckpt-1'));
    const expected = loadJson<JsonVar[]>(join(TFCK, 'variables.json'));
    assert.deepEqual(b.variables(), expected);
    const sc = b.read('save_counter/.ATTRIBUTES/VARIABLE_VALUE');
    assert.equal(sc.dtype, 'int64');
    assert.deepEqual(sc.shape, []);
    assert.deepEqual(Array.from(sc.values as BigInt64Array), [1n]);

    // stem = relu(BN(conv3x3 SAME(x))) at image 0, pixel (0, 0): the first 8 channels must equal
    // the float64 reference values recorded in expected.json.
    const ref = loadJson<{
      intermediate_activations_float64_reference: { stem: { first_values: number[] } };
    }>(join(TFCK, 'expected.json')).intermediate_activations_float64_reference.stem.first_values;
    const raw = readFileSync(join(TFCK, 'input.f32'));
    const x = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const key = (p: string) => `model/${p}/.ATTRIBUTES/VARIABLE_VALUE`;
    const kernel = b.read(key('_stem_conv/_kernel'));
    assert.deepEqual(kernel.shape, [3, 3, 3, 16]);
    const k = kernel.values as Float32Array;
    const bn = (n: string) => b.read(key(`_stem_norm/${n}`)).values as Float32Array;
    const [gamma, beta, mean, variance] = ['gamma', 'beta', 'moving_mean', 'moving_variance'].map(
      bn,
    );
    for (let co = 0; co < ref.length; co++) {
      let acc = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          if (dy < 0 || dx < 0) continue; // SAME padding: row/col -1 is zero
          for (let ci = 0; ci < 3; ci++) {
            acc += x[(dy * 32 + dx) * 3 + ci] * k[(((dy + 1) * 3 + (dx + 1)) * 3 + ci) * 16 + co];
          }
        }
      }
      const y = ((acc - mean[co]) / Math.sqrt(variance[co] + 1e-3)) * gamma[co] + beta[co];
      assert.ok(Math.abs(Math.max(y, 0) - ref[co]) < 1e-5, `channel ${co}: ${y} vs ${ref[co]}`);
    }
  } finally {
    b.close();
  }
});

test('tf-checkpoint: the object graph equals object_graph.pbtxt', () => {
  const b = openTensorBundle(join(TFCK, 'ckpt-1'));
  const graph = b.objectGraph();
  b.close();
  assert.ok(graph);
  // Parse the text proto's node list: children (node_id, local_name) and attribute keys.
  const text = readFileSync(join(TFCK, 'object_graph.pbtxt'), 'utf8');
  const blocks = text.split(/^nodes \{$/m).slice(1);
  assert.equal(graph.nodes.length, blocks.length);
  blocks.forEach((blk, i) => {
    const children = [...blk.matchAll(/node_id: (\d+)\n\s*local_name: "([^"]*)"/g)].map((m) => ({
      nodeId: Number(m[1]),
      localName: m[2],
    }));
    assert.deepEqual(graph.nodes[i].children, children, `node ${i}`);
    const keys = [...blk.matchAll(/checkpoint_key: "([^"]*)"/g)].map((m) => m[1]);
    assert.deepEqual(
      graph.nodes[i].attributes.map((a) => a.checkpointKey),
      keys,
      `node ${i}`,
    );
    const hv = /has_checkpoint_values \{\s*(value: true)?\s*\}/.exec(blk);
    assert.ok(hv, `node ${i} has has_checkpoint_values`);
    assert.equal(
      graph.nodes[i].hasCheckpointValues?.value ?? false,
      hv[1] !== undefined,
      `node ${i}`,
    );
  });
  const paths = checkpointKeyPaths(graph);
  const p = paths.get('model/_block_group_1/_shortcut/_kernel/.ATTRIBUTES/VARIABLE_VALUE');
  assert.ok(p);
  assert.deepEqual(p.path, ['model', '_block_group_1', '_shortcut', '_kernel']);
  assert.equal(p.attribute, 'VARIABLE_VALUE');
  assert.equal(p.fullName, 'small_resnet/kernel');
  assert.deepEqual(
    graph.nodes[p.nodeId].attributes[0].checkpointKey,
    'model/_block_group_1/_shortcut/_kernel/.ATTRIBUTES/VARIABLE_VALUE',
  );
});

// ---- corrupted copies ----------------------------------------------------------------------

function copyFixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vg-bundle-'));
  for (const f of ['checkpoint', 'ckpt-1.index', 'ckpt-1.data-00000-of-00001']) {
    copyFileSync(join(TFCK, f), join(dir, f));
  }
  return dir;
}

test('a flipped byte in a tensor is a checksum error naming the shard and the variable', () => {
  const dir = copyFixture();
  try {
    const name = 'model/_dense/bias/.ATTRIBUTES/VARIABLE_VALUE';
    const b0 = openTensorBundle(dir);
    const good = b0.read(name).values as Float32Array;
    b0.close();
    // Find the bias bytes in the shard and flip one bit.
    const data = readFileSync(join(dir, 'ckpt-1.data-00000-of-00001'));
    const needle = Buffer.from(good.buffer, good.byteOffset, good.byteLength);
    const at = data.indexOf(needle);
    assert.ok(at >= 0);
    data[at + 5] ^= 0x10;
    writeFileSync(join(dir, 'ckpt-1.data-00000-of-00001'), data);
    const b = openTensorBundle(dir);
    assert.throws(
      () => b.read(name),
      (e: Error) =>
        e.message.includes('ckpt-1.data-00000-of-00001') &&
        e.message.includes(name) &&
        /checksum mismatch/.test(e.message),
    );
    // Other variables still read.
    b.read('model/_dense/_kernel/.ATTRIBUTES/VARIABLE_VALUE');
    b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing shard names the shard file and the variable', () => {
  const dir = copyFixture();
  try {
    rmSync(join(dir, 'ckpt-1.data-00000-of-00001'));
    const b = openTensorBundle(dir);
    assert.equal(b.variables().length, 49); // the index alone lists
    const name = 'model/_stem_conv/_kernel/.ATTRIBUTES/VARIABLE_VALUE';
    assert.throws(
      () => b.read(name),
      (e: Error) =>
        e.message.includes('ckpt-1.data-00000-of-00001') &&
        e.message.includes(name) &&
        /missing/.test(e.message),
    );
    b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a truncated shard names the shard file and the variable', () => {
  const dir = copyFixture();
  try {
    const p = join(dir, 'ckpt-1.data-00000-of-00001');
    const data = readFileSync(p);
    writeFileSync(p, data.subarray(0, data.length - 100));
    const b = openTensorBundle(dir);
    const last = b
      .variables()
      .map((v) => v.name)
      .find((n) => {
        try {
          b.read(n);
          return false;
        } catch (e) {
          return /past the end/.test((e as Error).message) && (e as Error).message.includes(p);
        }
      });
    assert.ok(last, 'some variable reports the truncation');
    b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a corrupt or truncated index is reported with the index file name', () => {
  const dir = copyFixture();
  try {
    const p = join(dir, 'ckpt-1.index');
    const good = readFileSync(p);
    const flipped = Buffer.from(good);
    flipped[100] ^= 0x01;
    writeFileSync(p, flipped);
    assert.throws(
      () => openTensorBundle(dir),
      (e: Error) => e.message.includes(p) && /checksum mismatch/.test(e.message),
    );
    writeFileSync(p, good.subarray(0, good.length - 10));
    assert.throws(
      () => openTensorBundle(dir),
      (e: Error) => e.message.includes(p) && /magic/.test(e.message),
    );
    writeFileSync(p, good);
    rmSync(join(dir, 'checkpoint'));
    assert.equal(openTensorBundle(dir).prefix, join(dir, 'ckpt-1')); // the single *.index
    assert.equal(openTensorBundle(`${join(dir, 'ckpt-1')}.index`).prefix, join(dir, 'ckpt-1'));
    assert.throws(() => openTensorBundle(join(dir, 'nope')), /nope\.index not found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'interop');

test('TF1 name-based checkpoint: a variable partitioned along axis 1 reads whole', () => {
  // Made by test/fixtures/interop/tf1_partitioned/make.py with TensorFlow 2.21.
  const b = openTensorBundle(join(FIXTURES, 'tf1_partitioned', 'model'));
  try {
    // tf.train.list_variables printed [['b', [3]], ['w', [3, 4]]]: the slice entries are hidden.
    assert.deepEqual(b.variables(), [
      { name: 'b', shape: [3], dtype: 'float16' },
      { name: 'w', shape: [3, 4], dtype: 'float32' },
    ]);
    const t = b.read('b');
    assert.equal(t.dtype, 'float16');
    assert.ok(t.values instanceof Float32Array);
    assert.deepEqual(Array.from(t.values), [0.5, -1.5, 2.0]);
    // w = arange(12).reshape(3, 4), saved as columns 0-1 and 2-3.
    const w = b.read('w');
    assert.deepEqual(w.shape, [3, 4]);
    assert.deepEqual(Array.from(w.values as Float32Array), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.equal(b.objectGraph(), undefined);
  } finally {
    b.close();
  }
});

test('TF2 checkpoint in 3 shards with sliced tensors (MaxShardSizePolicy) reads whole', () => {
  // Made by test/fixtures/interop/tf2_sharded/make.py with TensorFlow 2.21.
  const dir = join(FIXTURES, 'tf2_sharded');
  const key = (n: string) => `model/${n}/.ATTRIBUTES/VARIABLE_VALUE`;
  const b = openTensorBundle(join(dir, 'ckpt-1'));
  try {
    assert.deepEqual(
      b.variables().map((v) => [v.name, v.shape, v.dtype]),
      [
        [OBJECT_GRAPH_KEY, [], 'string'],
        [key('a'), [8, 8], 'float32'],
        [key('b'), [3], 'int32'],
        [key('c'), [40], 'float32'],
        [key('d'), [2], 'bfloat16'],
        [key('e'), [2], 'bool'],
        ['save_counter/.ATTRIBUTES/VARIABLE_VALUE', [], 'int64'],
      ],
    );
    assert.deepEqual(
      Array.from(b.read(key('a')).values as Float32Array),
      Array.from({ length: 64 }, (_, i) => i),
    );
    assert.deepEqual(Array.from(b.read(key('b')).values as Int32Array), [1, -2, 3]);
    // numpy.linspace(-1, 1, 40) in float32.
    assert.deepEqual(
      Array.from(b.read(key('c')).values as Float32Array),
      Array.from({ length: 40 }, (_, i) => (i === 39 ? 1 : Math.fround(-1 + (i * 2) / 39))),
    );
    // bfloat16 keeps 8 significant bits: 0.001 is stored as 0.00099945068359375.
    assert.deepEqual(
      Array.from(b.read(key('d')).values as Float32Array),
      [0.25, 0.00099945068359375],
    );
    assert.deepEqual(b.read(key('e')).values, [true, false]);
    assert.deepEqual(
      Array.from(b.read('save_counter/.ATTRIBUTES/VARIABLE_VALUE').values as BigInt64Array),
      [1n],
    );
  } finally {
    b.close();
  }
  // A missing middle shard is named with the variable that needs it.
  const tmp = mkdtempSync(join(tmpdir(), 'vg-shards-'));
  try {
    for (const f of readdirSync(dir).filter((f) => f.startsWith('ckpt-1.')))
      copyFileSync(join(dir, f), join(tmp, f));
    rmSync(join(tmp, 'ckpt-1.data-00001-of-00003'));
    const c = openTensorBundle(join(tmp, 'ckpt-1'));
    const failures = c.variables().flatMap((v) => {
      try {
        c.read(v.name);
        return [];
      } catch (e) {
        return [(e as Error).message];
      }
    });
    c.close();
    assert.ok(failures.length > 0);
    for (const m of failures)
      assert.match(
        m,
        /ckpt-1\.data-00001-of-00003: shard file missing \(needed for variable 'model\//,
      );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
