/**
 * RetinaNet (Model Garden `official/vision/modeling/retinanet_model.py` `RetinaNetModel`):
 * backbone → decoder (none for Model Garden's `identity` decoder) → RetinaNet head; in inference
 * the multilevel detection generator turns the head's outputs into detections.
 *
 * Training outputs `cls_outputs` and `box_outputs` (level → [B, H_l, W_l, A·C] and
 * [B, H_l, W_l, A·4]). Inference adds `detection_boxes`, `detection_scores`, `detection_classes`
 * and `num_detections` (or `decoded_boxes` / `decoded_box_scores` when the generator's
 * `apply_nms` is false or `return_decoded` is set). Anchors are generated for the image size of
 * the input unless given, as Model Garden does.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { generateAnchors, unpackLabels } from '../../ops/anchor.js';
import type { LevelFeatures, RetinaNetHead } from '../heads/dense_prediction_heads.js';
import type {
  DetectionOutputs,
  MultilevelDetectionGenerator,
} from '../layers/detection_generator.js';
import type { BackboneLayer } from './classification_model.js';

/** A decoder maps backbone endpoints to the head's levels (FPN); null = identity. */
export type DecoderLayer = Layer<LevelFeatures, LevelFeatures>;

export interface RetinaNetModelOptions {
  backbone: BackboneLayer;
  /** null: Model Garden's `identity` decoder (the backbone's endpoints feed the head). */
  decoder: DecoderLayer | null;
  head: RetinaNetHead;
  detectionGenerator: MultilevelDetectionGenerator;
  minLevel: number;
  maxLevel: number;
  /** Anchor config (configs/retinanet.py `Anchor`). */
  numScales: number;
  aspectRatios: readonly number[];
  anchorSize: number;
  name?: string;
}

export interface RetinaNetInputs {
  /** [B, H, W, 3]. */
  images: tf.Tensor;
  /** [B, 2] un-padded [height, width] of each image (clips detections); null = no clipping. */
  imageShape?: tf.Tensor | null;
  /** Per level [H_l, W_l, A·4] or [B, H_l, W_l, A·4]; default: generated for the input size. */
  anchorBoxes?: Record<string, tf.Tensor> | null;
}

export interface RetinaNetOutputs extends DetectionOutputs {
  cls_outputs: LevelFeatures;
  box_outputs: LevelFeatures;
}

export class RetinaNetModel extends Layer<tf.Tensor | RetinaNetInputs, RetinaNetOutputs> {
  readonly backbone: BackboneLayer;
  readonly decoder: DecoderLayer | null;
  readonly head: RetinaNetHead;
  readonly detectionGenerator: MultilevelDetectionGenerator;
  readonly minLevel: number;
  readonly maxLevel: number;
  readonly numScales: number;
  readonly aspectRatios: readonly number[];
  readonly anchorSize: number;

  constructor(opts: RetinaNetModelOptions) {
    super({ name: opts.name ?? 'retinanet_model' });
    if (opts.head.minLevel !== opts.minLevel || opts.head.maxLevel !== opts.maxLevel) {
      throw new Error(
        `retinanet model: head levels ${opts.head.minLevel}..${opts.head.maxLevel} differ from the model's min_level ${opts.minLevel} / max_level ${opts.maxLevel}`,
      );
    }
    const perLocation = opts.numScales * opts.aspectRatios.length;
    if (opts.head.numAnchorsPerLocation !== perLocation) {
      throw new Error(
        `retinanet model: the head predicts ${opts.head.numAnchorsPerLocation} anchors per location, the anchor config gives num_scales × len(aspect_ratios) = ${perLocation}`,
      );
    }
    this.backbone = this.add('_backbone', opts.backbone);
    this.decoder = opts.decoder ? this.add('_decoder', opts.decoder) : null;
    this.head = this.add('_head', opts.head);
    this.detectionGenerator = opts.detectionGenerator;
    this.minLevel = opts.minLevel;
    this.maxLevel = opts.maxLevel;
    this.numScales = opts.numScales;
    this.aspectRatios = [...opts.aspectRatios];
    this.anchorSize = opts.anchorSize;
  }

  /** Model Garden's anchors for an input of `[height, width]`: level → [H_l, W_l, A·4]. */
  anchorBoxes(imageSize: readonly [number, number]): Record<string, tf.Tensor> {
    const anchors = generateAnchors({
      minLevel: this.minLevel,
      maxLevel: this.maxLevel,
      numScales: this.numScales,
      aspectRatios: this.aspectRatios,
      anchorSize: this.anchorSize,
      imageSize,
    });
    const out: Record<string, tf.Tensor> = {};
    for (const [level, view] of Object.entries(unpackLabels(anchors.boxes, anchors, 4))) {
      out[level] = tf.tensor3d(view.data, view.shape);
    }
    return out;
  }

  protected call(input: tf.Tensor | RetinaNetInputs, args: CallArgs): RetinaNetOutputs {
    const inputs: RetinaNetInputs = input instanceof tf.Tensor ? { images: input } : input;
    const { images } = inputs;
    if (images.rank !== 4) {
      throw new Error(`retinanet model: images must be [B, H, W, C], got [${images.shape}]`);
    }
    const run = (): RetinaNetOutputs => {
      const endpoints = this.backbone.apply(images, args);
      const features = this.decoder ? this.decoder.apply(endpoints, args) : endpoints;
      const { scores, boxes } = this.head.apply(features, args);
      const outputs: RetinaNetOutputs = { cls_outputs: scores, box_outputs: boxes };
      if (args.training) return outputs;
      const anchors =
        inputs.anchorBoxes ??
        this.anchorBoxes([images.shape[1] as number, images.shape[2] as number]);
      const detections = this.detectionGenerator.apply(
        boxes,
        scores,
        anchors,
        inputs.imageShape ?? null,
      );
      return { ...outputs, ...detections };
    };
    return tf.tidy(() => run() as unknown as tf.TensorContainer) as unknown as RetinaNetOutputs;
  }
}
