import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { ResNet } from '../../../src/modeling/backbones/resnet.js';
import type { BackboneOutputSpecs } from '../../../src/modeling/backbones/contract.js';
import { FPN, nearestUpsampling } from '../../../src/modeling/decoders/fpn.js';
import { buildDecoder } from '../../../src/modeling/decoders/factory.js';
import { decoderConfig } from '../../../src/modeling/decoders/config.js';
import { normActivationConfig } from '../../../src/core/config/vision_common.js';
import { sharedData } from '../../helpers.js';

await initBackend('cpu');

const MG = sharedData('model-garden-reference');

interface MgRow {
  id: string;
  params_components: Record<string, number>;
}
function mgRow(id: string): MgRow {
  const json = JSON.parse(readFileSync(`${MG}/param_counts.json`, 'utf8')) as { rows: MgRow[] };
  const row = json.rows.find((r) => r.id === id);
  assert.ok(row, `param_counts.json has row ${id}`);
  return row;
}

/** Zero feature maps for the levels of `specs`, as from an image of side `size`. */
function zeroFeatures(specs: BackboneOutputSpecs, size: number): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [k, s] of Object.entries(specs)) {
    const side = size / (s.stride as number);
    out[k] = tf.zeros([1, side, side, s.channels]);
  }
  return out;
}

/** Variables of one component in a Model Garden fixture: [object path, Keras name] pairs. */
function fixtureVariables(kase: string, prefix: string): [string, string][] {
  const vars = JSON.parse(readFileSync(`${MG}/${kase}/variables.json`, 'utf8')) as {
    name: string;
    keras_name: string | null;
  }[];
  return vars
    .filter((v) => v.name.startsWith(prefix))
    .map((v): [string, string] => [
      v.name.slice(prefix.length).replace('/.ATTRIBUTES/VARIABLE_VALUE', ''),
      v.keras_name as string,
    ])
    .sort();
}

function ourVariables(fpn: FPN): [string, string][] {
  return fpn
    .weights()
    .map((w): [string, string] => [
      w.objectPath
        .split('/')
        .slice(-3)
        .join('/')
        .replace(/^[^/]*\/(layer_with)/, '$1'),
      w.path.split('/').slice(-2).join('/'),
    ])
    .sort();
}

test('ResNet-50 FPN 3-7: Model Garden parameter count and per-level shapes', () => {
  const specs = new ResNet({ modelId: 50 }).outputSpecs;
  const fpn = new FPN({ inputSpecs: specs, minLevel: 3, maxLevel: 7 });
  tf.tidy(() => {
    const out = fpn.apply(zeroFeatures(specs, 128));
    assert.deepEqual(Object.keys(out).sort(), ['3', '4', '5', '6', '7']);
    for (let l = 3; l <= 7; l++) {
      const side = Math.max(1, 128 / 2 ** l);
      assert.deepEqual(out[String(l)].shape, [1, side, side, 256], `level ${l}`);
      assert.deepEqual(fpn.outputSpecs[String(l)], { channels: 256, stride: 2 ** l });
    }
  });
  // laterals 1×1 from 512/1024/2048, three post-hoc and two coarser 3×3 convs, five BNs.
  assert.equal(fpn.countParams(), mgRow('retinanet_r50fpn_i640').params_components.decoder);
  assert.equal(fpn.countParams(), 3_873_792);
  fpn.dispose();
});

test('FPN object paths and Keras names equal Model Garden checkpoints (plain and separable)', () => {
  // Mask R-CNN R50-FPN 3-7 fixture: plain convs.
  const r50 = new ResNet({ modelId: 50 }).outputSpecs;
  const plain = new FPN({ inputSpecs: r50 });
  tf.tidy(() => plain.apply(zeroFeatures(r50, 128)));
  const ours = ourVariables(plain);
  const mg = fixtureVariables('maskrcnn', 'model/decoder/');
  assert.deepEqual(ours, mg);
  plain.dispose();
  // RetinaNet MobileNetV2 fixture: separable convs, 128 filters, levels 3..5 of 32/96/320.
  const mobile: BackboneOutputSpecs = {
    '2': { channels: 24, stride: 4 },
    '3': { channels: 32, stride: 8 },
    '4': { channels: 96, stride: 16 },
    '5': { channels: 320, stride: 32 },
  };
  const sep = new FPN({ inputSpecs: mobile, numFilters: 128, useSeparableConv: true });
  tf.tidy(() => sep.apply(zeroFeatures(mobile, 64)));
  assert.deepEqual(ourVariables(sep), fixtureVariables('retinanet_mobilenetv2', 'model/_decoder/'));
  assert.equal(sep.countParams(), mgRow('retinanet_mobilenetv2_i256').params_components.decoder);
  sep.dispose();
});

test('nearest upsampling repeats each value 2x2', () => {
  const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
  const y = nearestUpsampling(x, 2);
  assert.deepEqual(y.shape, [1, 4, 4, 1]);
  assert.deepEqual(Array.from(y.dataSync()), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  tf.dispose([x, y]);
});

/** Sets every weight: kernels to `k`, biases to 0, BN to identity (γ 1, β 0, mean 0, var 1-ε). */
function setWeights(fpn: FPN, k: number): void {
  for (const w of fpn.weights()) {
    const name = w.path.split('/').at(-1) as string;
    const eps = 0.001;
    const v =
      name === 'gamma' ? 1 : name === 'moving_variance' ? 1 - eps : name.endsWith('kernel') ? k : 0;
    w.variable.assign(tf.fill(w.variable.shape, v));
  }
}

test('FPN computes sum fusion, post-hoc, coarser levels and relu between extra levels by hand', () => {
  // One channel in and out, all kernels 1: lateral = x; the 3×3 convs sum a SAME window.
  const specs: BackboneOutputSpecs = {
    '3': { channels: 1, stride: 8 },
    '4': { channels: 1, stride: 16 },
  };
  const fpn = new FPN({ inputSpecs: specs, minLevel: 3, maxLevel: 6, numFilters: 1 });
  const p3 = tf.ones([1, 2, 2, 1]);
  const p4 = tf.fill([1, 1, 1, 1], -5);
  tf.tidy(() => fpn.apply({ '3': p3, '4': p4 }));
  setWeights(fpn, 1);
  const out = tf.tidy(() => fpn.apply({ '3': p3, '4': p4 }));
  // Level 4: post_hoc of -5 (a 1×1 map: the window holds one value) = -5.
  assert.deepEqual(Array.from(out['4'].dataSync()), [-5]);
  // Level 3: 1 + up(-5) = -4 everywhere on 2×2; the 3×3 SAME window sums all four: -16.
  assert.deepEqual(Array.from(out['3'].dataSync()), [-16, -16, -16, -16]);
  // Level 5: coarser on P4 (no activation before the first extra level): -5.
  assert.deepEqual(Array.from(out['5'].dataSync()), [-5]);
  // Level 6: coarser on relu(P5 before norm) = relu(-5) = 0.
  assert.deepEqual(Array.from(out['6'].dataSync()), [0]);
  tf.dispose([p3, p4, out]);
  fpn.dispose();
});

test('FPN concat fusion grows the post-hoc input channels level by level', () => {
  const specs: BackboneOutputSpecs = {
    '3': { channels: 4, stride: 8 },
    '4': { channels: 4, stride: 16 },
    '5': { channels: 4, stride: 32 },
  };
  const fpn = new FPN({ inputSpecs: specs, maxLevel: 5, numFilters: 8, fusionType: 'concat' });
  tf.tidy(() => fpn.apply(zeroFeatures(specs, 128)));
  const kernel = (l: number) => fpn.weights().find((w) => w.path.endsWith(`post_hoc_${l}/kernel`));
  // As MG, the concatenation cascades: P4 = concat(up(lateral_5) [8], lateral_4 [8]) = 16
  // channels, P3 = concat(up(P4) [16], lateral_3 [8]) = 24.
  assert.deepEqual(kernel(5)?.variable.shape, [3, 3, 8, 8]);
  assert.deepEqual(kernel(4)?.variable.shape, [3, 3, 16, 8]);
  assert.deepEqual(kernel(3)?.variable.shape, [3, 3, 24, 8]);
  fpn.dispose();
});

test('FPN rejects bad configs and inputs by name', () => {
  const specs = new ResNet({ modelId: 18 }).outputSpecs;
  assert.throws(() => new FPN({ inputSpecs: specs, fusionType: 'max' }), /fusion_type 'max'/);
  assert.throws(() => new FPN({ inputSpecs: specs, minLevel: 1 }), /lowest level 2 is above/);
  assert.throws(() => new FPN({ inputSpecs: specs, minLevel: 5, maxLevel: 4 }), /max_level 4/);
  const cfg = decoderConfig.parse({ type: 'fpn', fpn: { num_filters: 64 } });
  const na = normActivationConfig.parse({});
  const built = buildDecoder(cfg, {
    inputSpecs: specs,
    minLevel: 3,
    maxLevel: 7,
    normActivation: na,
  });
  assert.ok(built instanceof FPN);
  assert.equal(built.outputSpecs['7'].channels, 64);
  assert.equal(
    buildDecoder(decoderConfig.parse({}), {
      inputSpecs: specs,
      minLevel: 3,
      maxLevel: 7,
      normActivation: na,
    }),
    null,
  );
});
