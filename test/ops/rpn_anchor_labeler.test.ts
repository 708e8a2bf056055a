/**
 * RpnAnchorLabeler (MG anchor.py RpnAnchorLabeler) against a hand-worked case: IoUs 1, 0.8, 0.5,
 * 0.2, 0, 0 with one box; thresholds 0.7 / 0.3; box targets only for positives; the sampled score
 * targets respect the batch size and foreground fraction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/random.js';
import { RpnAnchorLabeler } from '../../src/ops/rpn_anchor_labeler.js';
import { assertClose } from '../helpers.js';

const ANCHORS = new Float32Array([
  ...[0, 0, 10, 10], // IoU 1: positive
  ...[0, 0, 10, 8], // 0.8: positive
  ...[0, 0, 10, 5], // 0.5: ignored
  ...[0, 0, 10, 2], // 0.2: negative
  ...[20, 20, 30, 30], // 0: negative
  ...[40, 40, 50, 50], // 0: negative
]);
const BOX = [0, 0, 10, 10];

test('all candidates fit: positives 1, negatives 0, ignored −1; box targets of positives only', () => {
  const l = new RpnAnchorLabeler({ batchSizePerIm: 10 }).labelAnchors(
    ANCHORS,
    BOX,
    [1],
    new Rng(0),
  );
  assert.deepEqual(Array.from(l.scoreTargets), [1, 1, -1, 0, 0, 0]);
  // Anchor 1: centre x 4 vs 5, width 8 vs 10 → dx = 1/8, dw = log(10/8).
  assertClose(l.boxTargets, [0, 0, 0, 0, 0, 0.125, 0, Math.log(1.25), ...new Array(16).fill(0)], {
    atol: 1e-6,
  });
});

test('subsampling: at most ⌊batch · fraction⌋ positives, the rest negatives, at random', () => {
  const seen = new Set<string>();
  for (let seed = 0; seed < 20; seed++) {
    const l = new RpnAnchorLabeler({ batchSizePerIm: 3, fgFraction: 0.5 }).labelAnchors(
      ANCHORS,
      BOX,
      [1],
      new Rng(seed),
    );
    const s = Array.from(l.scoreTargets);
    assert.equal(s.filter((v) => v === 1).length, 1);
    assert.equal(s.filter((v) => v === 0).length, 2);
    assert.equal(s[2], -1, 'the ignored anchor is never sampled');
    assert.ok(s.slice(0, 2).includes(1) && !s.slice(3).includes(1));
    seen.add(s.join(','));
  }
  assert.ok(seen.size > 2, 'different draws pick different anchors');
  assert.throws(() => new RpnAnchorLabeler({ fgFraction: 2 }), /rpn_fg_fraction/);
});
