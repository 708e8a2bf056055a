/**
 * Multiply-adds of one Mask R-CNN / Cascade R-CNN inference at a given input size, counted the
 * way Model Garden's seed table does (its FLOPs column is half of `try_count_flops` on
 * `model.call(images[1, H, W, 3], image_shape, training=False)`: the whole inference graph, so
 * every RoI head runs on all `test_num_proposals` proposals and the mask head on all
 * `max_num_detections` padded detections, whatever the scores).
 *
 * Counted from shapes, without running the RoI pipeline: the backbone, decoder and RPN head on an
 * empty batch (`countFlops` with `emptyBatch`), plus one RoI through each detection head and the
 * mask head (a batch of one RoI: their dense layers are matmuls), scaled by the number of RoIs
 * each head sees. RoIAlign, box decoding and NMS do no counted arithmetic (gathers and element-
 * wise work, see flops.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { countFlops } from '../flops.js';
import type { LevelFeatures } from '../heads/dense_prediction_heads.js';
import type { MaskRCNNModel } from './maskrcnn_model.js';

export interface MaskRCNNMultiplyAdds {
  /** Backbone, decoder and RPN head on one image. */
  image: number;
  /** One RoI through each detection head (cascade stage). */
  perRoiBoxHeads: number[];
  /** One RoI through the mask head (0 without one). */
  perRoiMaskHead: number;
  /** RoIs per image through every box head: test_num_proposals, or fewer anchors. */
  numProposals: number;
  /** Detections per image through the mask head: max_num_detections (padded); 0 without NMS. */
  numDetections: number;
  /** image + numProposals · Σ perRoiBoxHeads + numDetections · perRoiMaskHead. */
  total: number;
}

export async function maskRCNNMultiplyAdds(
  model: MaskRCNNModel,
  imageSize: readonly [number, number],
): Promise<MaskRCNNMultiplyAdds> {
  // The ROI generator's static proposal count (roi_generator.ts): per level at most
  // num_proposals, then the overall top num_proposals.
  const wanted = model.roiGenerator.test.numProposals;
  let candidates = 0;
  for (let l = model.minLevel; l <= model.maxLevel; l++) {
    const cells = Math.ceil(imageSize[0] / 2 ** l) * Math.ceil(imageSize[1] / 2 ** l);
    candidates += Math.min(wanted, cells * model.rpnHead.numAnchorsPerLocation);
  }
  const numProposals = Math.min(wanted, candidates);
  // Without NMS there are no detections and so no masks (maskrcnn_model.ts headsFromFeatures).
  const numDetections = model.detectionGenerator.applyNms
    ? model.detectionGenerator.maxNumDetections
    : 0;
  let channels = 0;
  const image = (
    await countFlops(
      () => {
        const backbone = model.backbone.apply(tf.zeros([0, imageSize[0], imageSize[1], 3]), {});
        const features = (
          model.decoder ? model.decoder.apply(backbone, {}) : backbone
        ) as LevelFeatures;
        channels = features[String(model.minLevel)].shape[3] as number;
        model.rpnHead.apply(features, {});
      },
      { emptyBatch: true },
    )
  ).multiplyAdds;
  const c = model.roiAligner.cropSize;
  const perRoiBoxHeads: number[] = [];
  for (const head of model.detectionHeads) {
    const r = await countFlops(() => head.apply(tf.zeros([1, 1, c, c, channels]), {}));
    perRoiBoxHeads.push(r.multiplyAdds);
  }
  let perRoiMaskHead = 0;
  if (model.maskHead && model.maskRoiAligner) {
    const m = model.maskRoiAligner.cropSize;
    const head = model.maskHead;
    const r = await countFlops(() =>
      head.apply(
        { features: tf.zeros([1, 1, m, m, channels]), classes: tf.zeros([1, 1], 'int32') },
        {},
      ),
    );
    perRoiMaskHead = r.multiplyAdds;
  }
  const total =
    image +
    numProposals * perRoiBoxHeads.reduce((a, b) => a + b, 0) +
    numDetections * perRoiMaskHead;
  return { image, perRoiBoxHeads, perRoiMaskHead, numProposals, numDetections, total };
}
