import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Rng } from '../../src/core/random.js';
import {
  InMemoryImageClassification,
  type ImageClassificationBatch,
  type InMemoryImageClassificationOptions,
  type InMemoryPipelineState,
} from '../../src/data/in_memory.js';
import { assertClose } from '../helpers.js';

await tf.setBackend('cpu');

/** N random uint8 images [N, H, W, C] (values 1..255 so zero padding is recognisable). */
function randomImages(n: number, h: number, w: number, c: number, seed = 1): Uint8Array {
  const rng = new Rng(seed);
  return Uint8Array.from({ length: n * h * w * c }, () => 1 + rng.int(255));
}

/** Labels = example index, so a batch's labels say which examples it holds. */
const indexLabels = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

interface Taken {
  image: Float32Array;
  shape: number[];
  label: number[];
}

async function take(p: InMemoryImageClassification, k: number): Promise<(Taken | null)[]> {
  const out: (Taken | null)[] = [];
  for (let i = 0; i < k; i++) {
    const b: ImageClassificationBatch | null = await p.next();
    if (b === null) {
      out.push(null);
      continue;
    }
    assert.equal(b.image.dtype, 'float32');
    assert.equal(b.label.dtype, 'int32');
    out.push({
      image: b.image.dataSync() as Float32Array,
      shape: b.image.shape,
      label: [...b.label.dataSync()],
    });
    b.image.dispose();
    b.label.dispose();
  }
  return out;
}

const MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255];
const STD = [0.229 * 255, 0.224 * 255, 0.225 * 255];

test('eval: fixed order, every example once, last partial batch kept, RGB normalisation', async () => {
  const [n, h, w, c] = [10, 3, 2, 3];
  const images = randomImages(n, h, w, c);
  const p = new InMemoryImageClassification({
    images,
    shape: [n, h, w, c],
    labels: indexLabels(n),
    batchSize: 4,
    isTraining: false,
  });
  assert.equal(p.cardinality, 10);
  assert.equal(p.batchesPerEpoch, 3);
  const batches = await take(p, 4);
  assert.deepEqual(
    batches.map((b) => b?.label ?? null),
    [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9], null],
  );
  assert.deepEqual(batches[2]?.shape, [2, h, w, c]);
  const all = [...batches[0]!.image, ...batches[1]!.image, ...batches[2]!.image];
  const expected = [...images].map((v, i) => (v - MEAN[i % 3]) / STD[i % 3]);
  assertClose(all, expected, { rtol: 1e-6, atol: 1e-6 });
  assert.equal(await p.next(), null, 'stays exhausted');
});

test('eval with dropRemainder drops the partial batch', async () => {
  const p = new InMemoryImageClassification({
    images: randomImages(10, 2, 2, 3),
    shape: [10, 2, 2, 3],
    labels: indexLabels(10),
    batchSize: 4,
    isTraining: false,
    dropRemainder: true,
  });
  assert.equal(p.batchesPerEpoch, 2);
  const labels = (await take(p, 3)).map((b) => b?.label ?? null);
  assert.deepEqual(labels, [[0, 1, 2, 3], [4, 5, 6, 7], null]);
});

test('training: reshuffles every epoch, repeats forever, batches span epoch boundaries', async () => {
  const n = 10;
  const p = new InMemoryImageClassification({
    images: randomImages(n, 2, 2, 3),
    shape: [n, 2, 2, 3],
    labels: indexLabels(n),
    batchSize: 4,
    seed: 5,
  });
  // 15 batches of 4 = 60 examples = exactly 6 epochs
  const labels = (await take(p, 15)).flatMap((b) => b!.label);
  const epochs: number[][] = [];
  for (let e = 0; e < 6; e++) epochs.push(labels.slice(e * n, (e + 1) * n));
  const identity = [...Array(n).keys()];
  for (const order of epochs)
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      identity,
    );
  assert.ok(
    epochs.some((o) => o.join() !== identity.join()),
    'shuffled',
  );
  assert.equal(new Set(epochs.map((o) => o.join())).size, 6, 'a new order every epoch');
  const st = p.getState();
  assert.equal(st.epoch, 5);
  assert.equal(st.index, 10);
});

test('deterministic for a seed; another seed gives another order', async () => {
  const opts = (seed: number): InMemoryImageClassificationOptions => ({
    images: randomImages(20, 4, 4, 3),
    shape: [20, 4, 4, 3],
    labels: indexLabels(20),
    batchSize: 5,
    seed,
    augment: { randomFlip: true, randomCropPadding: 1 },
  });
  const a = await take(new InMemoryImageClassification(opts(1)), 8);
  const b = await take(new InMemoryImageClassification(opts(1)), 8);
  assert.deepEqual(a, b);
  const c = await take(new InMemoryImageClassification(opts(2)), 8);
  assert.notDeepEqual(
    a.map((x) => x!.label),
    c.map((x) => x!.label),
  );
});

test('getState/setState resumes with exactly the batches of an uninterrupted run', async () => {
  const n = 22;
  const images = randomImages(n, 6, 5, 3, 9);
  const opts: InMemoryImageClassificationOptions = {
    images,
    shape: [n, 6, 5, 3],
    labels: indexLabels(n),
    batchSize: 4,
    seed: 1234,
    augment: { randomFlip: true, randomCropPadding: 2 },
  };
  const first = new InMemoryImageClassification(opts);
  await take(first, 7);
  // through JSON, as in a checkpoint
  const saved = JSON.parse(JSON.stringify(first.getState())) as InMemoryPipelineState;
  const expected = await take(first, 5);

  const resumed = new InMemoryImageClassification(opts);
  resumed.setState(saved);
  const got = await take(resumed, 5);
  for (let i = 0; i < 5; i++) {
    assert.deepEqual(got[i]!.label, expected[i]!.label, `batch ${i} labels`);
    assert.deepEqual(
      Buffer.from(got[i]!.image.buffer),
      Buffer.from(expected[i]!.image.buffer),
      `batch ${i} pixels bitwise`,
    );
  }
  // 7 batches of 4 over 22 examples: epoch 1, 6 examples in
  assert.equal(saved.epoch, 1);
  assert.equal(saved.index, 6);
});

test('setState rejects states of another pipeline or seed', () => {
  const make = (seed: number) =>
    new InMemoryImageClassification({
      images: randomImages(4, 2, 2, 3),
      shape: [4, 2, 2, 3],
      labels: indexLabels(4),
      batchSize: 2,
      seed,
    });
  const st = make(1).getState();
  assert.throws(() => make(2).setState(st), /saved with seed=1, this pipeline has 2/);
  assert.throws(() => make(1).setState({ ...st, kind: 'tfrecord' }), /kind 'tfrecord'/);
  assert.throws(() => make(1).setState({ ...st, index: 9 }), /index must be an integer in 0..4/);
});

test('randomFlip: each output is the image or its mirror, and both occur', async () => {
  const [n, h, w] = [6, 3, 4];
  const images = randomImages(n, h, w, 1);
  const p = new InMemoryImageClassification({
    images,
    shape: [n, h, w, 1],
    labels: indexLabels(n),
    batchSize: n,
    seed: 3,
    mean: [0],
    stddev: [1],
    augment: { randomFlip: true },
  });
  let flips = 0;
  let plain = 0;
  for (const b of await take(p, 10)) {
    for (let k = 0; k < n; k++) {
      const i = b!.label[k];
      const out = [...b!.image.subarray(k * h * w, (k + 1) * h * w)];
      const orig: number[] = [];
      const mirror: number[] = [];
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          orig.push(images[i * h * w + y * w + x]);
          mirror.push(images[i * h * w + y * w + (w - 1 - x)]);
        }
      }
      if (out.join() === orig.join()) plain++;
      else if (out.join() === mirror.join()) flips++;
      else assert.fail(`example ${i} is neither the image nor its mirror`);
    }
  }
  assert.ok(flips > 10 && plain > 10, `flips ${flips}, plain ${plain}`);
});

test('randomCropPadding: output is the zero-padded image shifted by at most the padding', async () => {
  const [n, h, w, pad] = [4, 5, 5, 2];
  const images = randomImages(n, h, w, 1, 4);
  const p = new InMemoryImageClassification({
    images,
    shape: [n, h, w, 1],
    labels: indexLabels(n),
    batchSize: n,
    seed: 11,
    mean: [0],
    stddev: [1],
    augment: { randomCropPadding: pad },
  });
  const seen = new Set<string>();
  for (const b of await take(p, 20)) {
    for (let k = 0; k < n; k++) {
      const i = b!.label[k];
      const out = [...b!.image.subarray(k * h * w, (k + 1) * h * w)];
      let match: string | null = null;
      for (let sy = -pad; sy <= pad && !match; sy++) {
        for (let sx = -pad; sx <= pad && !match; sx++) {
          const shifted: number[] = [];
          for (let y = 0; y < h; y++) {
            for (let x = 0; x < w; x++) {
              const [yy, xx] = [y + sy, x + sx];
              const inside = yy >= 0 && yy < h && xx >= 0 && xx < w;
              shifted.push(inside ? images[i * h * w + yy * w + xx] : 0);
            }
          }
          if (shifted.join() === out.join()) match = `${sy},${sx}`;
        }
      }
      assert.ok(match !== null, `example ${i}: not a padded crop`);
      seen.add(match);
    }
  }
  assert.ok(seen.size >= 10, `only ${seen.size} distinct offsets of 25`);
});

test('augmentation is off in eval mode', async () => {
  const images = randomImages(3, 4, 4, 1);
  const p = new InMemoryImageClassification({
    images,
    shape: [3, 4, 4, 1],
    labels: [0, 1, 2],
    batchSize: 3,
    isTraining: false,
    mean: [0],
    stddev: [1],
    augment: { randomFlip: true, randomCropPadding: 2 },
  });
  const [b] = await take(p, 1);
  assert.deepEqual([...b!.image], [...images]);
});

test('grayscale replicated to 3 channels uses the per-channel RGB statistics', async () => {
  const images = Uint8Array.from([0, 128, 255, 7]);
  const p = new InMemoryImageClassification({
    images,
    shape: [1, 2, 2, 1],
    labels: [3],
    batchSize: 1,
    isTraining: false,
    outputChannels: 3,
  });
  const [b] = await take(p, 1);
  assert.deepEqual(b!.shape, [1, 2, 2, 3]);
  const expected = [...images].flatMap((v) => [0, 1, 2].map((k) => (v - MEAN[k]) / STD[k]));
  assertClose(b!.image, expected, { rtol: 1e-6 });
  // 1-channel data with its own statistics
  const q = new InMemoryImageClassification({
    images,
    shape: [1, 2, 2, 1],
    labels: [3],
    batchSize: 1,
    isTraining: false,
    mean: [72.94],
    stddev: [90.02],
  });
  const [c] = await take(q, 1);
  assertClose(
    c!.image,
    [...images].map((v) => (v - 72.94) / 90.02),
    { rtol: 1e-6 },
  );
});

test('bad options give clear errors', () => {
  const base: InMemoryImageClassificationOptions = {
    images: new Uint8Array(2 * 2 * 2),
    shape: [2, 2, 2, 1],
    labels: [0, 1],
    batchSize: 1,
    mean: [0],
    stddev: [1],
  };
  const make = (o: Partial<InMemoryImageClassificationOptions>) =>
    new InMemoryImageClassification({ ...base, ...o });
  assert.throws(() => make({ mean: undefined }), /mean is required for 1-channel images/);
  assert.throws(
    () => make({ images: new Uint8Array(7) }),
    /images has 7 values, shape \[2, 2, 2, 1\] needs 8/,
  );
  assert.throws(() => make({ labels: [0] }), /labels has 1 entries, images has 2/);
  assert.throws(() => make({ labels: [0, -1] }), /labels\[1\] must be a non-negative integer/);
  assert.throws(() => make({ batchSize: 0 }), /batchSize must be a positive integer/);
  assert.throws(() => make({ stddev: [0] }), /stddev values must be finite and non-zero/);
  assert.throws(() => make({ outputChannels: 3, mean: [0, 0] }), /mean must have 1 or 3 values/);
  assert.throws(
    () => make({ images: new Uint8Array(24), shape: [2, 2, 2, 3], outputChannels: 1 }),
    /outputChannels 1 is not possible for 3-channel images/,
  );
});

test('batches are owned by the caller: 100 produced and disposed leave numTensors flat', async () => {
  const p = new InMemoryImageClassification({
    images: randomImages(50, 8, 8, 3),
    shape: [50, 8, 8, 3],
    labels: indexLabels(50),
    batchSize: 16,
    augment: { randomFlip: true, randomCropPadding: 2 },
  });
  const before = tf.memory().numTensors;
  for (let i = 0; i < 100; i++) {
    const b = (await p.next())!;
    assert.equal(tf.memory().numTensors, before + 2);
    b.image.dispose();
    b.label.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
  p.dispose();
  await assert.rejects(p.next(), /after dispose/);
});
