/**
 * Keras `.weights.h5` reader against the tf-checkpoint fixture: the dataset list must equal
 * weights_h5_layout.json (made with h5py), and every dataset must hold the same values as the
 * TensorBundle checkpoint saved from the same model (keras_path_to_checkpoint_key.json).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readKerasWeightsH5 } from '../../../src/interop/keras/weights_h5.js';
import { openTensorBundle } from '../../../src/interop/tf/bundle_reader.js';
import { sharedData } from '../../helpers.js';

const DIR = sharedData('tf-checkpoint');
const json = <T>(f: string) => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as T;

test('model.weights.h5 lists as weights_h5_layout.json and equals the TF checkpoint', async () => {
  const layout =
    json<{ path: string; shape: number[]; dtype: string; keras_path: string }[]>(
      'weights_h5_layout.json',
    );
  const datasets = await readKerasWeightsH5(join(DIR, 'model.weights.h5'));
  assert.deepEqual(
    datasets.map(({ path, shape, dtype }) => ({ path, shape, dtype })),
    layout.map(({ path, shape, dtype }) => ({ path, shape, dtype })),
  );
  const keyOf = new Map(
    json<{ keras_path: string; checkpoint_key: string }[]>('keras_path_to_checkpoint_key.json').map(
      (e) => [e.keras_path, e.checkpoint_key],
    ),
  );
  const bundle = openTensorBundle(DIR);
  try {
    for (const [i, d] of datasets.entries()) {
      const key = keyOf.get(layout[i].keras_path);
      assert.ok(key, layout[i].keras_path);
      const t = bundle.read(key);
      assert.deepEqual(t.shape, d.shape, d.path);
      assert.deepEqual(d.values, t.values, `${d.path} vs ${key}`);
    }
    assert.equal(datasets.length, keyOf.size);
  } finally {
    bundle.close();
  }
});

test('a missing or non-HDF5 file is one clear error naming it', async () => {
  await assert.rejects(
    readKerasWeightsH5(join(DIR, 'nope.weights.h5')),
    /nope\.weights\.h5: no such file/,
  );
  await assert.rejects(
    readKerasWeightsH5(join(DIR, 'expected.json')),
    /expected\.json: not an HDF5 file/,
  );
});
