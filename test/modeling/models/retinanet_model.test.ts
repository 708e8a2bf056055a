import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { Layer, type CallArgs } from '../../../src/core/layer.js';
import { setGlobalSeed } from '../../../src/core/random.js';
import { ResNet } from '../../../src/modeling/backbones/resnet.js';
import { RetinaNetHead } from '../../../src/modeling/heads/dense_prediction_heads.js';
import { Conv2D } from '../../../src/modeling/layers/conv.js';
import { MultilevelDetectionGenerator } from '../../../src/modeling/layers/detection_generator.js';
import { RetinaNetModel } from '../../../src/modeling/models/retinanet_model.js';
import { generateAnchors } from '../../../src/ops/anchor.js';
import { assertClose } from '../../helpers.js';

await initBackend('cpu');

/** A stand-in decoder: a 1×1 conv per level 3..5 to a common width (what FPN's laterals do). */
class LateralDecoder extends Layer<Record<string, tf.Tensor>, Record<string, tf.Tensor>> {
  private readonly convs: Record<string, Conv2D> = {};
  constructor(width: number) {
    super({ name: 'lateral_decoder' });
    for (const l of ['3', '4', '5']) {
      this.convs[l] = this.add(`_lateral_${l}`, new Conv2D({ filters: width, kernelSize: 1 }));
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
