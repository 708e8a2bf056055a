/**
 * MixUp / CutMix (augment.MixupAndCutmix): images and label mixing against the formulas with the
 * returned per-image weights, smoothing alone when not applied, CutMix boxes from the mirrored
 * image, and the lambda distributions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/random.js';
import { mixupAndCutmix, sampleBeta, smoothOneHot } from '../../../src/data/ops/index.js';
import { assertClose } from '../../helpers.js';

const B = 4;
const H = 8;
const W = 8;
const C = 3;
const rng0 = new Rng(1);
const images = Float32Array.from({ length: B * H * W * C }, () => rng0.uniform() * 255);
const labels = [0, 3, 5, 3];
const batch = { images, shape: [B, H, W, C] as [number, number, number, number], labels };

test('label smoothing: on = 1 - ls + ls / n, off = ls / n', () => {
  const s = smoothOneHot([2], 10, 0.1);
  assertClose(s, [0.01, 0.01, 0.91, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01]);
});

test('not applied (prob 0): images unchanged, smoothed labels', () => {
  const r = mixupAndCutmix(batch, new Rng(0), { prob: 0, numClasses: 6 });
  assert.equal(r.mode, 'none');
  assert.equal(r.images, images);
  assertClose(r.labels, smoothOneHot(labels, 6, 0.1));
});

test('mixup: x_i lam_i + x_{B-1-i} (1 - lam_i), labels mixed the same way', () => {
  const r = mixupAndCutmix(batch, new Rng(5), { cutmixAlpha: 0, numClasses: 6 });
  assert.equal(r.mode, 'mixup');
  const smooth = smoothOneHot(labels, 6, 0.1);
  const plane = H * W * C;
  for (let i = 0; i < B; i++) {
    const lam = r.lambdas[i];
    assert.ok(lam > 0 && lam < 1);
    const j = B - 1 - i;
    const want = Array.from(
      { length: plane },
      (_, p) => lam * images[i * plane + p] + (1 - lam) * images[j * plane + p],
    );
    assertClose(r.images.subarray(i * plane, (i + 1) * plane), want, { rtol: 1e-5, atol: 1e-3 });
    const wantLabels = Array.from(
      { length: 6 },
      (_, k) => lam * smooth[i * 6 + k] + (1 - lam) * smooth[j * 6 + k],
    );
    assertClose(r.labels.subarray(i * 6, (i + 1) * 6), wantLabels, { atol: 1e-6 });
    assertClose([r.labels.subarray(i * 6, (i + 1) * 6).reduce((a, v) => a + v, 0)], [1], {
      atol: 1e-5,
    });
  }
});

test('cutmix: pixels are own or from the mirrored image, lam = 1 - cut^2 / (H W)', () => {
  for (let seed = 0; seed < 20; seed++) {
    const r = mixupAndCutmix(batch, new Rng(seed), { mixupAlpha: 0, numClasses: 6 });
    assert.equal(r.mode, 'cutmix');
    const plane = H * W * C;
    for (let i = 0; i < B; i++) {
      const j = B - 1 - i;
      let pasted = 0;
      for (let p = 0; p < plane; p++) {
        const v = r.images[i * plane + p];
        if (v !== images[i * plane + p]) {
          assert.equal(v, images[j * plane + p]);
          pasted++;
        }
      }
      // lam comes from a square of side trunc(sqrt(1 - lam0) * H): 1 - lam is a square / 64.
      const side = Math.round(Math.sqrt((1 - r.lambdas[i]) * H * W));
      assertClose([(1 - r.lambdas[i]) * H * W], [side * side], { atol: 1e-4 });
      // The pasted area (clipped at borders, half sizes floored) is at most the nominal box.
      if (i !== j) assert.ok(pasted / C <= side * side);
    }
  }
});

test('lambda draws: Model Garden gamma(1, rate alpha) ratio is uniform; beta option is Beta', () => {
  const n = 4000;
  const big = {
    images: new Float32Array(n * 1),
    shape: [n, 1, 1, 1] as [number, number, number, number],
    labels: new Array<number>(n).fill(0),
  };
  const lam = mixupAndCutmix(big, new Rng(9), {
    cutmixAlpha: 0,
    mixupAlpha: 0.2,
    numClasses: 2,
  }).lambdas;
  const mean = lam.reduce((a, v) => a + v, 0) / n;
  const variance = lam.reduce((a, v) => a + (v - mean) ** 2, 0) / n;
  assert.ok(
    Math.abs(mean - 0.5) < 0.02 && Math.abs(variance - 1 / 12) < 0.006,
    `${mean} ${variance}`,
  );
  const beta = mixupAndCutmix(big, new Rng(9), {
    cutmixAlpha: 0,
    mixupAlpha: 0.2,
    numClasses: 2,
    lambdaSampling: 'beta',
  }).lambdas;
  const bm = beta.reduce((a, v) => a + v, 0) / n;
  const bv = beta.reduce((a, v) => a + (v - bm) ** 2, 0) / n;
  // Beta(0.2, 0.2): variance 0.04 / (0.16 * 1.4) = 0.179.
  assert.ok(Math.abs(bm - 0.5) < 0.03 && Math.abs(bv - 0.179) < 0.015, `${bm} ${bv}`);
  const rng = new Rng(2);
  let s = 0;
  for (let i = 0; i < n; i++) s += sampleBeta(rng, 2, 5);
  assert.ok(Math.abs(s / n - 2 / 7) < 0.01);
});

test('bad batches are named', () => {
  assert.throws(
    () => mixupAndCutmix({ ...batch, labels: [0, 1] }, new Rng(0)),
    /2 labels for 4 images/,
  );
  assert.throws(
    () => mixupAndCutmix({ ...batch, labels: [0, 1, 2, 9] }, new Rng(0), { numClasses: 5 }),
    /labels\[3\] = 9/,
  );
});
