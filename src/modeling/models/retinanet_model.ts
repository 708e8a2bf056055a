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
import {
  RetinaNetHead,
  type AttributeHeadSpec,
  type LevelFeatures,
} from '../heads/dense_prediction_heads.js';
import {
  MultilevelDetectionGenerator,
  type DetectionOutputs,
} from '../layers/detection_generator.js';
import type { Backbone } from '../backbones/contract.js';
import type { Decoder } from '../decoders/contract.js';

export interface RetinaNetModelOptions {
  backbone: Backbone;
  /** null: Model Garden's `identity` decoder (the backbone's endpoints feed the head). */
  decoder: Decoder | null;
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
  readonly backbone: Backbone;
  readonly decoder: Decoder | null;
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

/** Model Garden's `RetinaNetHead` config (configs/retinanet.py). */
export interface RetinaNetHeadConfig {
  num_convs: number;
  num_filters: number;
  use_separable_conv: boolean;
  attribute_heads?: readonly AttributeHeadSpec[] | null;
  share_classification_heads?: boolean;
  share_level_convs?: boolean;
}

/** Model Garden's `DetectionGenerator` config fields read by the RetinaNet factory. */
export interface DetectionGeneratorConfig {
  apply_nms: boolean;
  pre_nms_top_k: number;
  pre_nms_score_threshold: number;
  nms_iou_threshold: number;
  max_num_detections: number;
  nms_version: string;
  /** Placement only: the padded NMS kernel always runs on the host CPU here. */
  use_cpu_nms?: boolean;
  soft_nms_sigma?: number | null;
  return_decoded?: boolean | null;
  use_class_agnostic_nms?: boolean | null;
  box_coder_weights?: readonly number[] | null;
  /** Two-stage generators only; the multilevel generator always decodes. */
  decode_boxes?: boolean;
}

/** The `task.model` fields of Model Garden's RetinaNet config that the builder reads. */
export interface RetinaNetModelConfig {
  num_classes: number;
  min_level: number;
  max_level: number;
  anchor: { num_scales: number; aspect_ratios: readonly number[]; anchor_size: number };
  head: RetinaNetHeadConfig;
  detection_generator: DetectionGeneratorConfig;
  norm_activation: {
    activation: string;
    use_sync_bn: boolean;
    norm_momentum: number;
    norm_epsilon: number;
  };
}

/**
 * Model Garden's `factory.build_retinanet` from built backbone and decoder (null for the
 * `identity` decoder): the head (num_anchors_per_location = num_scales · len(aspect_ratios),
 * norm_activation's activation and norms), the multilevel detection generator and the model.
 */
export function buildRetinaNet(
  backbone: Backbone,
  decoder: Decoder | null,
  cfg: RetinaNetModelConfig,
): RetinaNetModel {
  const g = cfg.detection_generator;
  if (g.decode_boxes === false) {
    throw new Error(
      'task.model.detection_generator.decode_boxes: RetinaNet always decodes its boxes (Model Garden passes this field to two-stage generators only); leave it true',
    );
  }
  const na = cfg.norm_activation;
  const head = new RetinaNetHead({
    minLevel: cfg.min_level,
    maxLevel: cfg.max_level,
    numClasses: cfg.num_classes,
    numAnchorsPerLocation: cfg.anchor.num_scales * cfg.anchor.aspect_ratios.length,
    numConvs: cfg.head.num_convs,
    numFilters: cfg.head.num_filters,
    attributeHeads: cfg.head.attribute_heads ?? null,
    shareClassificationHeads: cfg.head.share_classification_heads ?? false,
    useSeparableConv: cfg.head.use_separable_conv,
    activation: na.activation,
    useSyncBn: na.use_sync_bn,
    normMomentum: na.norm_momentum,
    normEpsilon: na.norm_epsilon,
    shareLevelConvs: cfg.head.share_level_convs ?? true,
  });
  const detectionGenerator = new MultilevelDetectionGenerator({
    applyNms: g.apply_nms,
    preNmsTopK: g.pre_nms_top_k,
    preNmsScoreThreshold: g.pre_nms_score_threshold,
    nmsIouThreshold: g.nms_iou_threshold,
    maxNumDetections: g.max_num_detections,
    nmsVersion: g.nms_version,
    softNmsSigma: g.soft_nms_sigma ?? null,
    returnDecoded: g.return_decoded ?? false,
    useClassAgnosticNms: g.use_class_agnostic_nms ?? false,
    boxCoderWeights: g.box_coder_weights ?? null,
  });
  return new RetinaNetModel({
    backbone,
    decoder,
    head,
    detectionGenerator,
    minLevel: cfg.min_level,
    maxLevel: cfg.max_level,
    numScales: cfg.anchor.num_scales,
    aspectRatios: cfg.anchor.aspect_ratios,
    anchorSize: cfg.anchor.anchor_size,
  });
}
