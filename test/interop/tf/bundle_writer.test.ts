/**
 * TF2 object-based checkpoint writer: write → read back with our reader (names, dtypes, values,
 * object graph, save_counter, state file), and a read-all + re-write of real checkpoints that
 * must list the same variables with the same values. (Real TensorFlow reading a checkpoint we
 * wrote is checked once by scripts/check_tf_checkpoint.py; TF is not installed in CI.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTensorBundle, OBJECT_GRAPH_KEY } from '../../../src/interop/tf/bundle_reader.js';
import {
  readObjectVariables,
  writeObjectCheckpoint,
  type ObjectVariable,
} from '../../../src/interop/tf/bundle_writer.js';
import { buildObjectGraph, checkpointKeyPaths } from '../../../src/interop/tf/object_graph.js';
import { sharedData } from '../../helpers.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'vg-writer-'));

test('every dtype round-trips with its object path, escaping and save_counter', () => {
  const dir = tempDir();
  try {
    const vars: ObjectVariable[] = [
      {
        path: 'model/dense/kernel',
        dtype: 'float32',
        shape: [2, 3],
        values: Float32Array.of(1, -2, 3.5, 0, 1e-7, -1e30),
      },
      {
        path: 'model/dense/bias',
        dtype: 'float64',
        shape: [2],
        values: Float64Array.of(Math.PI, -0.1),
      },
      // Exactly representable halves: 1.5, -0.25, 65504 (max), 2^-24 (smallest subnormal).
      {
        path: ['model', 'half'],
        dtype: 'float16',
        shape: [4],
        values: [1.5, -0.25, 65504, 2 ** -24],
      },
      { path: ['model', 'bf'], dtype: 'bfloat16', shape: [3], values: [1.5, -2, 2 ** -100] },
      {
        path: ['model', 'i64'],
        dtype: 'int64',
        shape: [2],
        values: BigInt64Array.of(-(2n ** 62n), 7n),
      },
      {
        path: ['model', 'i32'],
        dtype: 'int32',
        shape: [1, 2],
        values: Int32Array.of(-2147483648, 5),
      },
      { path: ['model', 'i16'], dtype: 'int16', shape: [2], values: Int16Array.of(-32768, 32767) },
      { path: ['model', 'i8'], dtype: 'int8', shape: [2], values: Int8Array.of(-128, 127) },
      { path: ['model', 'u8'], dtype: 'uint8', shape: [2], values: Uint8Array.of(0, 255) },
      { path: ['model', 'flags'], dtype: 'bool', shape: [3], values: [true, false, true] },
      {
        path: ['model', 'names'],
        dtype: 'string',
        shape: [3],
        values: ['', 'é☃', 'x'.repeat(300)],
      },
      { path: ['model', 'a.b', 'c/d'], dtype: 'float32', shape: [], values: [42] },
      { path: ['model', 'empty'], dtype: 'float32', shape: [0, 4], values: new Float32Array(0) },
    ];
    const prefix = join(dir, 'ckpt-3');
    const w = writeObjectCheckpoint(prefix, vars, { saveCounter: 3 });
    // Hand-derived keys: '.' → '.S', '/' → './' inside a local name.
    assert.equal(w.keys[11], 'model/a.Sb/c./d/.ATTRIBUTES/VARIABLE_VALUE');
    assert.equal(w.keys[0], 'model/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE');
    assert.deepEqual(readdirSync(dir).sort(), [
      'checkpoint',
      'ckpt-3.data-00000-of-00001',
      'ckpt-3.index',
    ]);
    assert.equal(
      readFileSync(join(dir, 'checkpoint'), 'utf8'),
      'model_checkpoint_path: "ckpt-3"\nall_model_checkpoint_paths: "ckpt-3"\n',
    );

    const b = openTensorBundle(dir);
    assert.equal(b.prefix, prefix);
    const listed = b.variables();
    assert.deepEqual(
      listed.map((v) => v.name),
      [...w.keys, OBJECT_GRAPH_KEY, 'save_counter/.ATTRIBUTES/VARIABLE_VALUE'].sort(),
    );
    vars.forEach((v, i) => {
      const t = b.read(w.keys[i]);
      assert.equal(t.dtype, v.dtype, w.keys[i]);
      assert.deepEqual(t.shape, v.shape, w.keys[i]);
      const expected =
        v.dtype === 'float32'
          ? Array.from(Float32Array.from(v.values as number[]))
          : Array.from(v.values as ArrayLike<unknown>);
      assert.deepEqual(Array.from(t.values as ArrayLike<unknown>), expected, w.keys[i]);
    });
    assert.deepEqual(
      Array.from(b.read('save_counter/.ATTRIBUTES/VARIABLE_VALUE').values as BigInt64Array),
      [3n],
    );
    const graph = b.objectGraph();
    const expectedGraph = buildObjectGraph([
      ...vars.map((v) => ({ path: typeof v.path === 'string' ? v.path.split('/') : v.path })),
      { path: ['save_counter'], fullName: 'save_counter' },
    ]).graph;
    assert.deepEqual(graph, expectedGraph);
    // Breadth-first numbering, as TensorFlow: root, then model and save_counter.
    assert.deepEqual(graph?.nodes[0].children, [
      { nodeId: 1, localName: 'model' },
      { nodeId: 2, localName: 'save_counter' },
    ]);
    assert.equal(
      graph?.nodes[2].attributes[0].checkpointKey,
      'save_counter/.ATTRIBUTES/VARIABLE_VALUE',
    );
    const paths = checkpointKeyPaths(graph!);
    assert.deepEqual(paths.get(w.keys[11])?.path, ['model', 'a.b', 'c/d']);
    b.close();

    // Bad input is named.
    assert.throws(
      () =>
        writeObjectCheckpoint(join(dir, 'bad'), [
          { path: 'm/k', dtype: 'float32', shape: [2, 2], values: [1, 2, 3] },
        ]),
      /'m\/k\/\.ATTRIBUTES\/VARIABLE_VALUE' has 3 values, shape \[2, 2\] needs 4/,
    );
    assert.throws(
      () =>
        writeObjectCheckpoint(join(dir, 'bad'), [
          { path: 'm/k', dtype: 'float32', shape: [], values: [1] },
          { path: 'm/k/x', dtype: 'float32', shape: [], values: [1] },
        ]),
      /'m\/k' is a variable and cannot have child 'x'/,
    );
    assert.ok(!existsSync(join(dir, 'bad.index')));
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('.tmp-')),
      [],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Reads every variable of a checkpoint and writes it again by object path. */
function rewrite(src: string, prefix: string) {
  const b = openTensorBundle(src);
  const { variables, saveCounter } = readObjectVariables(b);
  b.close();
  writeObjectCheckpoint(prefix, variables, { saveCounter });
}

for (const [label, src] of [
  ['resnet_rs (Model Garden)', sharedData('model-garden-reference', 'resnet_rs', 'ckpt')],
  [
    'maskrcnn (Model Garden, aliased box head)',
    sharedData('model-garden-reference', 'maskrcnn', 'ckpt'),
  ],
  ['tf-checkpoint (with save_counter)', sharedData('tf-checkpoint')],
] as const) {
  test(`re-writing ${label} keeps every variable, shape, dtype and value`, () => {
    const dir = tempDir();
    try {
      const prefix = join(dir, 'ckpt-1');
      rewrite(src, prefix);
      const a = openTensorBundle(src);
      const b = openTensorBundle(dir);
      assert.deepEqual(b.variables(), a.variables());
      for (const v of a.variables()) {
        if (v.name === OBJECT_GRAPH_KEY) continue;
        assert.deepEqual(b.read(v.name).values, a.read(v.name).values, v.name);
      }
      // The new object graph maps each key to the same object path and name.
      const pa = checkpointKeyPaths(a.objectGraph()!);
      const pb = checkpointKeyPaths(b.objectGraph()!);
      assert.deepEqual(
        [...pb].map(([k, p]) => [k, p.path, p.fullName]).sort(),
        [...pa].map(([k, p]) => [k, p.path, p.fullName]).sort(),
      );
      a.close();
      b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
