import type { BackboneOutputSpecs } from '../../../src/modeling/backbones/contract.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { parse } from 'yaml';
import { initBackend } from '../../../src/core/backend/index.js';
import { Layer, type CallArgs } from '../../../src/core/layer.js';
import { setGlobalSeed } from '../../../src/core/random.js';
import { compileFunction } from '../../../src/engine/compile.js';
import { ResNet } from '../../../src/modeling/backbones/resnet.js';
import { RetinaNetHead } from '../../../src/modeling/heads/dense_prediction_heads.js';
import { Conv2D } from '../../../src/modeling/layers/conv.js';
import { MultilevelDetectionGenerator } from '../../../src/modeling/layers/detection_generator.js';
import {
  buildRetinaNet,
  RetinaNetModel,
  type RetinaNetModelConfig,
} from '../../../src/modeling/models/retinanet_model.js';
import { generateAnchors } from '../../../src/ops/anchor.js';
import { assertClose } from '../../helpers.js';

await initBackend('cpu');

/** A stand-in decoder: a 1×1 conv per level 3..5 to a common width (what FPN's laterals do). */
class LateralDecoder extends Layer<Record<string, tf.Tensor>, Record<string, tf.Tensor>> {
  private readonly convs: Record<string, Conv2D> = {};
  readonly outputSpecs: BackboneOutputSpecs = {};
  constructor(width: number) {
    super({ name: 'lateral_decoder' });
    for (const l of ['3', '4', '5']) {
      this.convs[l] = this.add(`_lateral_${l}`, new Conv2D({ filters: width, kernelSize: 1 }));
      this.outputSpecs[l] = { channels: width, stride: 2 ** Number(l) };
    }
  }
  protected call(x: Record<string, tf.Tensor>, args: CallArgs): Record<string, tf.Tensor> {
    return Object.fromEntries(Object.entries(this.convs).map(([l, c]) => [l, c.apply(x[l], args)]));
  }
}

const anchorConfig = { numScales: 2, aspectRatios: [0.5, 1, 2], anchorSize: 4 };

function build(decoder: boolean) {
  setGlobalSeed(1);
  return new RetinaNetModel({
    backbone: new ResNet({ modelId: 10 }),
    decoder: decoder ? new LateralDecoder(16) : null,
    head: new RetinaNetHead({
      minLevel: 3,
      maxLevel: 5,
      numClasses: 4,
      numAnchorsPerLocation: 6,
      numConvs: 1,
      numFilters: 8,
      // The identity decoder passes ResNet's 128/256/512-channel levels: no conv can be shared.
      shareLevelConvs: decoder,
    }),
    detectionGenerator: new MultilevelDetectionGenerator({ maxNumDetections: 10 }),
    minLevel: 3,
    maxLevel: 5,
    ...anchorConfig,
  });
}

for (const decoder of [true, false]) {
  test(`RetinaNet model (${decoder ? 'decoder' : 'identity decoder'}): training and inference outputs`, () => {
    const model = build(decoder);
    const images = tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 3);
    const train = model.apply(images, { training: true, stateUpdates: [] });
    assert.deepEqual(Object.keys(train).sort(), ['box_outputs', 'cls_outputs']);
    for (const [l, s] of [
      ['3', 8],
      ['4', 4],
      ['5', 2],
    ] as const) {
      assert.deepEqual(train.cls_outputs[l].shape, [2, s, s, 6 * 4]);
      assert.deepEqual(train.box_outputs[l].shape, [2, s, s, 6 * 4]);
    }
    // Parameters: backbone + decoder + head, registered under Model Garden's attributes.
    const paths = model.weights().map((w) => w.objectPath);
    assert.ok(paths.some((p) => p.startsWith('_backbone/')));
    assert.equal(
      paths.some((p) => p.startsWith('_decoder/')),
      decoder,
    );
    assert.ok(paths.some((p) => p.startsWith('_head/_classifier')));
    assert.equal(
      model.countParams(),
      model.backbone.countParams() + (model.decoder?.countParams() ?? 0) + model.head.countParams(),
    );

    // Inference: the generator on the head's outputs with the anchors of a 64 × 64 input.
    const imageShape = tf.tensor2d([
      [64, 64],
      [40, 50],
    ]);
    const inf = model.apply({ images, imageShape }, { training: false });
    assert.deepEqual(inf.detection_boxes!.shape, [2, 10, 4]);
    assert.deepEqual(inf.detection_scores!.shape, [2, 10]);
    assert.deepEqual(inf.detection_classes!.shape, [2, 10]);
    assert.deepEqual(inf.num_detections!.shape, [2]);
    const anchors = model.anchorBoxes([64, 64]);
    const want = generateAnchors({
      minLevel: 3,
      maxLevel: 5,
      imageSize: [64, 64],
      ...anchorConfig,
    });
    assertClose(
      Float32Array.from(['3', '4', '5'].flatMap((l) => Array.from(anchors[l].dataSync()))),
      want.boxes,
    );
    const gen = new MultilevelDetectionGenerator({ maxNumDetections: 10 });
    const ref = gen.apply(inf.box_outputs, inf.cls_outputs, anchors, imageShape);
    for (const k of ['detection_boxes', 'detection_scores', 'detection_classes'] as const) {
      assertClose(inf[k]!.dataSync(), ref[k]!.dataSync(), { msg: k });
    }
    // The second image is clipped to 40 × 50.
    const boxes = inf.detection_boxes!.arraySync() as number[][][];
    for (const b of boxes[1]) assert.ok(b[2] <= 40 && b[3] <= 50);
    tf.dispose([images, imageShape, train, inf, ref, anchors] as unknown as tf.Tensor[]);
    model.dispose();
  });
}

test('RetinaNet model rejects a head whose anchors per location differ from the anchor config', () => {
  assert.throws(
    () =>
      new RetinaNetModel({
        backbone: new ResNet({ modelId: 10 }),
        decoder: null,
        head: new RetinaNetHead({
          minLevel: 3,
          maxLevel: 5,
          numClasses: 2,
          numAnchorsPerLocation: 9,
        }),
        detectionGenerator: new MultilevelDetectionGenerator(),
        minLevel: 3,
        maxLevel: 5,
        ...anchorConfig,
      }),
    /num_scales × len\(aspect_ratios\) = 6/,
  );
});

/** A stand-in backbone: levels 3..7 as average pools of the image, 1×1 conv to `width` channels. */
class PoolBackbone extends Layer<tf.Tensor, Record<string, tf.Tensor>> {
  private readonly convs: Record<string, Conv2D> = {};
  readonly outputSpecs: BackboneOutputSpecs = {};
  constructor(width: number) {
    super({ name: 'pool_backbone' });
    for (let l = 3; l <= 7; l++) {
      this.convs[l] = this.add(`_proj_${l}`, new Conv2D({ filters: width, kernelSize: 1 }));
      this.outputSpecs[l] = { channels: width, stride: 2 ** l };
    }
  }
  protected call(x: tf.Tensor, args: CallArgs): Record<string, tf.Tensor> {
    return Object.fromEntries(
      Object.entries(this.convs).map(([l, c]) => {
        const k = 2 ** Number(l);
        return [l, c.apply(tf.avgPool(x as tf.Tensor4D, k, k, 'same'), args)];
      }),
    );
  }
}

const REF = new URL(
  '../../../../../shared/data/model-garden-reference/retinanet_mobilenetv2/',
  import.meta.url,
);

test("buildRetinaNet reads Model Garden's retinanet_mobilenetv2 config.yaml (head, anchors, generator)", () => {
  const yaml = parse(readFileSync(new URL('config.yaml', REF), 'utf8')) as {
    task: { model: RetinaNetModelConfig };
  };
  const cfg = yaml.task.model;
  const model = buildRetinaNet(new PoolBackbone(128), null, cfg);
  assert.equal(model.head.numClasses, 10);
  assert.equal(model.head.numAnchorsPerLocation, 9);
  assert.equal(model.detectionGenerator.nmsVersion, 'v2');
  assert.equal(model.detectionGenerator.preNmsTopK, 5000);
  assert.equal(model.anchorSize, 3);
  const images = tf.randomNormal([1, 128, 128, 3], 0, 1, 'float32', 8);
  const out = model.apply(images, { training: false });
  assert.deepEqual(out.cls_outputs['7'].shape, [1, 1, 1, 90]);
  assert.deepEqual(out.box_outputs['3'].shape, [1, 16, 16, 36]);
  assert.deepEqual(out.detection_boxes!.shape, [1, 100, 4]);
  // The head's variables (separable, 4 × 128, per-level norms) are those of the reference.
  const refVars = (
    JSON.parse(readFileSync(new URL('variables.json', REF), 'utf8')) as { name: string }[]
  ).filter((v) => v.name.startsWith('model/_head/'));
  assert.equal(model.head.weights().length, refVars.length);
  assert.throws(
    () =>
      buildRetinaNet(new PoolBackbone(8), null, {
        ...cfg,
        detection_generator: { ...cfg.detection_generator, decode_boxes: false },
      }),
    /decode_boxes/,
  );
  tf.dispose([images, out] as unknown as tf.Tensor[]);
  model.dispose();
});

test('RetinaNet inference (backbone → decoder → head → NMS) compiles to one ONNX graph equal to eager', async () => {
  await initBackend('wasm');
  const model = build(true);
  const inputs = {
    images: tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 6),
    image_shape: tf.tensor2d([
      [64, 64],
      [48, 56],
    ]),
  };
  const run = (x: Record<string, tf.Tensor>) => {
    const o = model.apply({ images: x.images, imageShape: x.image_shape }, { training: false });
    return [
      o.cls_outputs['3'],
      o.box_outputs['5'],
      o.detection_boxes!,
      o.detection_scores!,
      o.detection_classes!,
      o.num_detections!,
    ];
  };
  tf.tidy(() => void run(inputs));
  // A fresh head scores every anchor at the 0.01 prior (near-ties that rounding reorders):
  // spread the logits so the detections are well separated.
  for (const w of model.head.weights()) {
    if (/scores\/(kernel|bias)$/.test(w.path)) {
      w.variable.assign(tf.randomNormal(w.variable.shape, 0, 0.5, 'float32', 7));
    }
  }
  const compiled = await compileFunction(inputs, run, { intraOpNumThreads: 1 });
  assert.ok(compiled.opTypes.includes('NonMaxSuppression'), 'NMS runs in the graph');
  const got = await compiled.run(inputs);
  const want = run(inputs);
  assert.ok(want[5].dataSync()[0] > 0, 'some detections');
  want.forEach((w, i) => {
    assert.deepEqual(got[i].shape, w.shape);
    assertClose(got[i].dataSync(), w.dataSync(), { rtol: 1e-4, atol: 1e-4, msg: `output ${i}` });
  });
  tf.dispose([...got, ...want, ...Object.values(inputs)]);
  await compiled.dispose();
  model.dispose();
  await initBackend('cpu');
});
