/**
 * Mask R-CNN and Cascade R-CNN (Model Garden `official/vision/modeling/maskrcnn_model.py`
 * `MaskRCNNModel`; He et al. 2017, Cai & Vasconcelos 2018), inference:
 *
 *  1. backbone → decoder (none for Model Garden's `identity` decoder) → RPN head;
 *  2. the ROI generator turns RPN scores and boxes into `test_num_proposals` RoIs;
 *  3. per stage s (one, or 1 + len(cascade_iou_thresholds) for the cascade): RoIAlign of the RoIs
 *     (crop `roi_aligner.crop_size`) → detection head s → class logits and box codes; the next
 *     stage's RoIs are this stage's boxes decoded with the stage's weights
 *     ([10, 10, 5, 5], [20, 20, 10, 10], [30, 30, 15, 15]) and clipped;
 *  4. the detection generator on the last stage's boxes and RoIs, with the class logits of the
 *     last stage or, with `cascade_class_ensemble`, their mean over the stages;
 *  5. with a mask head: RoIAlign of the detected boxes (crop `mask_roi_aligner.crop_size`), the
 *     mask head at the detected classes, sigmoid → `detection_masks` [B, D, 28, 28].
 *
 * Outputs carry Model Garden's keys: `backbone_features`, `decoder_features`, `rpn_scores`,
 * `rpn_boxes` (level → tensor), `class_outputs`, `box_outputs`, `class_outputs_<s>`,
 * `box_outputs_<s>` (later stages), `cls_outputs` (the classes the generator used),
 * `detection_boxes`, `detection_scores`, `detection_classes`, `num_detections`,
 * `detection_masks` (or `decoded_boxes` / `decoded_box_scores` without NMS).
 * Every shape is static, so the inference graph compiles to one ONNX graph.
 *
 * Sub-layers sit under Model Garden's attributes (`backbone`, `decoder`, `rpn_head`,
 * `detection_head/<s>`, `mask_head`), so TF checkpoints map by rule.
 *
 * Training mode (MG `_call_box_outputs` / `_run_frcnn_head` / `_call_mask_outputs` with
 * training=True): proposals at the generator's training settings; per stage, the RoIs (gradient
 * stopped) go through that stage's ROI sampler (the first subsamples, later ones re-label every
 * RoI), box targets are the matched GT boxes encoded against them with the stage's weights (0 for
 * background); with a mask head, the mask sampler takes the last stage's RoIs and targets. Outputs
 * add `class_targets[_s]`, `box_targets[_s]`, `mask_outputs` (logits), `mask_targets` and
 * `mask_class_targets`; everything stays static-shaped, so the training step compiles.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { generateAnchors, unpackLabels } from '../../ops/anchor.js';
import {
  clipBoxesTensor,
  decodeBoxesTensor,
  encodeBoxesTensor,
  type BoxCoderWeights,
} from '../../ops/box_ops.js';
import { getGlobalSeed, Rng } from '../../core/random.js';
import { withoutGradient } from '../../core/stop_gradient.js';
import { multilevelCropAndResize } from '../../ops/roi_align.js';
import type { Backbone } from '../backbones/contract.js';
import type { Decoder } from '../decoders/contract.js';
import type { LevelFeatures } from '../heads/dense_prediction_heads.js';
import { DetectionHead, MaskHead } from '../heads/instance_heads.js';
import { RPNHead } from '../heads/rpn_head.js';
import { RCNNDetectionGenerator } from '../layers/rcnn_detection_generator.js';
import { MultilevelROIGenerator } from '../layers/roi_generator.js';
import { MaskSampler } from '../layers/mask_sampler.js';
import { ROISampler } from '../layers/roi_sampler.js';

/** Box regression weights of cascade stage s (MaskRCNNModel `_cascade_layer_to_weights`). */
export const CASCADE_REGRESSION_WEIGHTS: readonly BoxCoderWeights[] = [
  [10, 10, 5, 5],
  [20, 20, 10, 10],
  [30, 30, 15, 15],
];

export interface MaskRCNNInputs {
  /** [B, H, W, 3]. */
  images: tf.Tensor;
  /** [B, 2] un-padded [height, width] of each image (clips proposals and detections). */
  image_shape: tf.Tensor;
  /** Per level [H_l, W_l, A·4] or [B, H_l, W_l, A·4]; default: generated for the input size. */
  anchor_boxes?: Record<string, tf.Tensor> | null;
  /** Training only: [B, M, 4] ground-truth boxes (padded with −1). */
  gt_boxes?: tf.Tensor | null;
  /** Training only: [B, M] classes (padded with −1). */
  gt_classes?: tf.Tensor | null;
  /** Training only: [B, M, S, S] masks cropped to their boxes. */
  gt_masks?: tf.Tensor | null;
}

export type MaskRCNNOutputs = Record<string, tf.Tensor | LevelFeatures>;

export interface RoIAlignerSettings {
  cropSize: number;
  sampleOffset: number;
}

export interface MaskRCNNModelOptions {
  backbone: Backbone;
  decoder: Decoder | null;
  rpnHead: RPNHead;
  /** One head, or one per cascade stage. */
  detectionHeads: DetectionHead[];
  roiGenerator: MultilevelROIGenerator;
  roiAligner: RoIAlignerSettings;
  detectionGenerator: RCNNDetectionGenerator;
  maskHead?: MaskHead | null;
  maskRoiAligner?: RoIAlignerSettings;
  /** Training: one ROI sampler per detection head (none: training is refused). */
  roiSamplers?: ROISampler[];
  /** Training with a mask head. */
  maskSampler?: MaskSampler | null;
  classAgnosticBboxPred: boolean;
  cascadeClassEnsemble: boolean;
  minLevel: number;
  maxLevel: number;
  numScales: number;
  aspectRatios: readonly number[];
  anchorSize: number;
  name?: string;
}

export class MaskRCNNModel extends Layer<MaskRCNNInputs, MaskRCNNOutputs> {
  readonly backbone: Backbone;
  readonly decoder: Decoder | null;
  readonly rpnHead: RPNHead;
  readonly detectionHeads: DetectionHead[];
  readonly roiGenerator: MultilevelROIGenerator;
  readonly roiAligner: RoIAlignerSettings;
  readonly detectionGenerator: RCNNDetectionGenerator;
  readonly maskHead: MaskHead | null;
  readonly maskRoiAligner: RoIAlignerSettings | null;
  readonly roiSamplers: ROISampler[];
  readonly maskSampler: MaskSampler | null;
  readonly classAgnosticBboxPred: boolean;
  readonly cascadeClassEnsemble: boolean;
  readonly minLevel: number;
  readonly maxLevel: number;
  readonly numScales: number;
  readonly aspectRatios: readonly number[];
  readonly anchorSize: number;

  constructor(opts: MaskRCNNModelOptions) {
    super({ name: opts.name ?? 'mask_rcnn_model' });
    const stages = opts.detectionHeads.length;
    if (stages < 1 || stages > CASCADE_REGRESSION_WEIGHTS.length) {
      throw new Error(
        `mask r-cnn model: 1 to ${CASCADE_REGRESSION_WEIGHTS.length} detection heads (cascade stages) are supported, got ${stages}`,
      );
    }
    if (stages > 1 && !opts.classAgnosticBboxPred) {
      throw new Error(
        'task.model.detection_head.class_agnostic_bbox_pred must be true when several detection heads (roi_sampler.cascade_iou_thresholds) are used',
      );
    }
    if (opts.maskHead && !opts.maskRoiAligner) {
      throw new Error('mask r-cnn model: a mask head needs the mask RoI aligner settings');
    }
    const perLocation = opts.numScales * opts.aspectRatios.length;
    if (opts.rpnHead.numAnchorsPerLocation !== perLocation) {
      throw new Error(
        `mask r-cnn model: the RPN head predicts ${opts.rpnHead.numAnchorsPerLocation} anchors per location, the anchor config gives num_scales × len(aspect_ratios) = ${perLocation}`,
      );
    }
    this.backbone = this.add('backbone', opts.backbone);
    this.decoder = opts.decoder ? this.add('decoder', opts.decoder) : null;
    this.rpnHead = this.add('rpn_head', opts.rpnHead);
    this.detectionHeads = opts.detectionHeads.map((h, s) => this.add(`detection_head/${s}`, h));
    this.maskHead = opts.maskHead ? this.add('mask_head', opts.maskHead) : null;
    this.roiGenerator = opts.roiGenerator;
    this.roiAligner = opts.roiAligner;
    this.detectionGenerator = opts.detectionGenerator;
    this.maskRoiAligner = opts.maskHead ? (opts.maskRoiAligner ?? null) : null;
    this.roiSamplers = opts.roiSamplers ?? [];
    this.maskSampler = opts.maskHead ? (opts.maskSampler ?? null) : null;
    if (this.roiSamplers.length && this.roiSamplers.length !== stages) {
      throw new Error(
        `mask r-cnn model: ${this.roiSamplers.length} ROI samplers for ${stages} detection heads`,
      );
    }
    this.classAgnosticBboxPred = opts.classAgnosticBboxPred;
    this.cascadeClassEnsemble = opts.cascadeClassEnsemble;
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

  /**
   * Creates every weight from small zero inputs (an image of `imageSize`, one RoI per head)
   * without running the RoI pipeline: for loading checkpoints and counting parameters.
   */
  buildWeights(imageSize: readonly [number, number] = [128, 128]): void {
    tf.tidy(() => {
      const features = this.features(tf.zeros([1, imageSize[0], imageSize[1], 3]), {}).features;
      this.rpnHead.apply(features, {});
      const channels = features[String(this.minLevel)].shape[3] as number;
      const c = this.roiAligner.cropSize;
      for (const head of this.detectionHeads) head.apply(tf.zeros([1, 1, c, c, channels]), {});
      if (this.maskHead) {
        const m = this.maskRoiAligner!.cropSize;
        this.maskHead.apply(
          { features: tf.zeros([1, 1, m, m, channels]), classes: tf.zeros([1, 1], 'int32') },
          {},
        );
      }
    });
  }

  private features(
    images: tf.Tensor,
    args: CallArgs,
  ): { backboneFeatures: LevelFeatures; features: LevelFeatures } {
    const backboneFeatures = this.backbone.apply(images, args) as LevelFeatures;
    const features = this.decoder
      ? (this.decoder.apply(backboneFeatures, args) as LevelFeatures)
      : backboneFeatures;
    return { backboneFeatures, features };
  }

  protected call(inputs: MaskRCNNInputs, args: CallArgs): MaskRCNNOutputs {
    const { images, image_shape: imageShape } = inputs;
    if (images.rank !== 4) {
      throw new Error(`mask r-cnn model: images must be [B, H, W, C], got [${images.shape}]`);
    }
    if (
      imageShape.rank !== 2 ||
      imageShape.shape[0] !== images.shape[0] ||
      imageShape.shape[1] !== 2
    ) {
      throw new Error(
        `mask r-cnn model: image_shape must be [${images.shape[0]}, 2], got [${imageShape.shape}]`,
      );
    }
    if (args.training) return this.trainingForward(inputs, args);
    return tf.tidy(() => {
      const { backboneFeatures, features } = this.features(images, args);
      const anchors =
        inputs.anchor_boxes ??
        this.anchorBoxes([images.shape[1] as number, images.shape[2] as number]);
      const out = this.headsFromFeatures(features, imageShape, anchors, args);
      return {
        backbone_features: backboneFeatures,
        decoder_features: features,
        ...out,
      } as unknown as tf.TensorContainer;
    }) as unknown as MaskRCNNOutputs;
  }

  private rng: Rng | null = null;

  /** The training forward (see the file comment); `args.rng` draws the RoI sampling. */
  private trainingForward(inputs: MaskRCNNInputs, args: CallArgs): MaskRCNNOutputs {
    const { images, image_shape: imageShape, gt_boxes: gtBoxes, gt_classes: gtClasses } = inputs;
    if (!this.roiSamplers.length) {
      throw new Error(
        'mask r-cnn model: training needs the ROI samplers (build it with buildMaskRCNN)',
      );
    }
    if (!gtBoxes || !gtClasses) {
      throw new Error('mask r-cnn model: training needs gt_boxes and gt_classes');
    }
    if (this.maskHead && (!inputs.gt_masks || !this.maskSampler)) {
      throw new Error(
        'mask r-cnn model: training with a mask head needs gt_masks and the mask sampler',
      );
    }
    const rng =
      args.rng ?? (this.rng ??= Rng.derive(getGlobalSeed(), `${this.fullPath()}/roi_sampler`));
    const run = (): MaskRCNNOutputs => {
      const { backboneFeatures, features } = this.features(images, args);
      const anchors =
        inputs.anchor_boxes ??
        this.anchorBoxes([images.shape[1] as number, images.shape[2] as number]);
      const { scores: rpnScores, boxes: rpnBoxes } = this.rpnHead.apply(features, args);
      const out: MaskRCNNOutputs = {
        backbone_features: backboneFeatures,
        decoder_features: features,
        rpn_boxes: rpnBoxes,
        rpn_scores: rpnScores,
      };
      // MG stops the gradient at the RoIs and every target made from them.
      let rois = withoutGradient(
        () => this.roiGenerator.apply(rpnBoxes, rpnScores, anchors, imageShape, true).rois,
      );
      let sampled = null as ReturnType<ROISampler['apply']> | null;
      for (let s = 0; s < this.detectionHeads.length; s++) {
        const weights = CASCADE_REGRESSION_WEIGHTS[s];
        const stage = withoutGradient(() => {
          const sp = this.roiSamplers[s].apply(rois, gtBoxes, gtClasses, rng);
          const background = tf.tile(tf.expandDims(tf.equal(sp.gtClasses, 0), -1), [1, 1, 4]);
          const targets = tf.where(
            background,
            tf.zerosLike(sp.rois),
            encodeBoxesTensor(sp.gtBoxes, sp.rois, weights),
          );
          return { sp, targets };
        });
        sampled = stage.sp;
        rois = sampled.rois;
        const boxTargets = stage.targets;
        const roiFeatures = multilevelCropAndResize(
          features,
          rois,
          this.roiAligner.cropSize,
          this.roiAligner.sampleOffset,
        );
        const head = this.detectionHeads[s].apply(roiFeatures, args);
        const suffix = s ? `_${s}` : '';
        out[`class_targets${suffix}`] = sampled.gtClasses;
        out[`box_targets${suffix}`] = boxTargets;
        out[`class_outputs${suffix}`] = head.classes;
        out[`box_outputs${suffix}`] = head.boxes;
        if (s < this.detectionHeads.length - 1) {
          rois = clipBoxesTensor(decodeBoxesTensor(head.boxes, rois, weights), imageShape);
        }
      }
      if (this.maskHead) {
        const m = withoutGradient(() =>
          this.maskSampler!.apply(
            rois,
            sampled!.gtBoxes,
            sampled!.gtClasses,
            sampled!.gtIndices,
            inputs.gt_masks!,
          ),
        );
        const aligner = this.maskRoiAligner!;
        const maskFeatures = multilevelCropAndResize(
          features,
          m.rois,
          aligner.cropSize,
          aligner.sampleOffset,
        );
        out.mask_outputs = this.maskHead.apply(
          { features: maskFeatures, classes: m.classes },
          args,
        );
        out.mask_targets = m.masks;
        out.mask_class_targets = m.classes;
      }
      return out;
    };
    return tf.tidy(() => run() as unknown as tf.TensorContainer) as unknown as MaskRCNNOutputs;
  }

  /**
   * Inference after the decoder: RPN head, proposals, the box stages, detections and masks from
   * the decoder's level features (the model's `call` minus backbone and decoder; the outputs
   * without `backbone_features` and `decoder_features`).
   */
  headsFromFeatures(
    features: LevelFeatures,
    imageShape: tf.Tensor,
    anchors: Record<string, tf.Tensor>,
    args: CallArgs = {},
  ): MaskRCNNOutputs {
    const run = (): MaskRCNNOutputs => {
      const { scores: rpnScores, boxes: rpnBoxes } = this.rpnHead.apply(features, args);
      const out: MaskRCNNOutputs = {
        rpn_boxes: rpnBoxes,
        rpn_scores: rpnScores,
      };
      let rois = this.roiGenerator.apply(rpnBoxes, rpnScores, anchors, imageShape, false).rois;
      const allClasses: tf.Tensor[] = [];
      let boxes: tf.Tensor | null = null;
      const stages = this.detectionHeads.length;
      for (let s = 0; s < stages; s++) {
        if (s > 0) {
          // The next stage's RoIs: this stage's (class-agnostic) boxes, decoded and clipped.
          rois = clipBoxesTensor(
            decodeBoxesTensor(boxes!, rois, CASCADE_REGRESSION_WEIGHTS[s - 1]),
            imageShape,
          );
        }
        const roiFeatures = multilevelCropAndResize(
          features,
          rois,
          this.roiAligner.cropSize,
          this.roiAligner.sampleOffset,
        );
        const head = this.detectionHeads[s].apply(roiFeatures, args);
        const suffix = s ? `_${s}` : '';
        out[`class_outputs${suffix}`] = head.classes;
        out[`box_outputs${suffix}`] = head.boxes;
        allClasses.push(head.classes);
        boxes = head.boxes;
      }
      const classOutputs =
        this.cascadeClassEnsemble && stages > 1
          ? tf.div(tf.addN(allClasses), stages)
          : allClasses[stages - 1];
      const detections = this.detectionGenerator.apply(
        boxes!,
        classOutputs,
        rois,
        imageShape,
        CASCADE_REGRESSION_WEIGHTS[stages - 1],
        !this.classAgnosticBboxPred,
      );
      Object.assign(out, { cls_outputs: classOutputs, box_outputs: boxes! }, detections);
      if (this.maskHead && detections.detection_boxes) {
        const aligner = this.maskRoiAligner!;
        const maskFeatures = multilevelCropAndResize(
          features,
          detections.detection_boxes,
          aligner.cropSize,
          aligner.sampleOffset,
        );
        const logits = this.maskHead.apply(
          { features: maskFeatures, classes: detections.detection_classes! },
          args,
        );
        out.detection_masks = tf.sigmoid(logits);
      }
      return out;
    };
    return tf.tidy(() => run() as unknown as tf.TensorContainer) as unknown as MaskRCNNOutputs;
  }
}

/** The `task.model` fields of Model Garden's Mask R-CNN config (configs/maskrcnn.py) read here. */
export interface MaskRCNNModelConfig {
  num_classes: number;
  min_level: number;
  max_level: number;
  anchor: { num_scales: number; aspect_ratios: readonly number[]; anchor_size: number };
  include_mask: boolean;
  outer_boxes_scale?: number;
  rpn_head: { num_convs: number; num_filters: number; use_separable_conv: boolean };
  detection_head: {
    num_convs: number;
    num_filters: number;
    use_separable_conv: boolean;
    num_fcs: number;
    fc_dims: number;
    class_agnostic_bbox_pred: boolean;
    cascade_class_ensemble: boolean;
  };
  roi_generator: {
    pre_nms_top_k: number;
    pre_nms_score_threshold: number;
    pre_nms_min_size_threshold: number;
    nms_iou_threshold: number;
    num_proposals: number;
    test_pre_nms_top_k: number;
    test_pre_nms_score_threshold: number;
    test_pre_nms_min_size_threshold: number;
    test_nms_iou_threshold: number;
    test_num_proposals: number;
    use_batched_nms: boolean;
  };
  roi_sampler: {
    cascade_iou_thresholds?: readonly number[] | null;
    mix_gt_boxes?: boolean;
    num_sampled_rois?: number;
    foreground_fraction?: number;
    foreground_iou_threshold?: number;
    background_iou_high_threshold?: number;
    background_iou_low_threshold?: number;
  };
  mask_sampler?: { num_sampled_masks: number } | null;
  roi_aligner: { crop_size: number; sample_offset: number };
  detection_generator: {
    apply_nms: boolean;
    pre_nms_top_k: number;
    pre_nms_score_threshold: number;
    nms_iou_threshold: number;
    max_num_detections: number;
    nms_version: string;
    soft_nms_sigma?: number | null;
    use_sigmoid_probability?: boolean;
  };
  mask_head?: {
    upsample_factor: number;
    num_convs: number;
    num_filters: number;
    use_separable_conv: boolean;
    class_agnostic: boolean;
  } | null;
  mask_roi_aligner?: { crop_size: number; sample_offset: number } | null;
  norm_activation: {
    activation: string;
    use_sync_bn: boolean;
    norm_momentum: number;
    norm_epsilon: number;
  };
}

/**
 * Model Garden's `factory.build_maskrcnn` from a built backbone and decoder (null for the
 * `identity` decoder): RPN head (num_anchors_per_location = num_scales · len(aspect_ratios)),
 * 1 + len(roi_sampler.cascade_iou_thresholds) detection heads (`detection_head`,
 * `detection_head_1`, ...), ROI generator, aligners, detection generator and, with
 * `include_mask`, the mask head; norm_activation's activation and norms throughout.
 */
export function buildMaskRCNN(
  backbone: Backbone,
  decoder: Decoder | null,
  cfg: MaskRCNNModelConfig,
): MaskRCNNModel {
  if ((cfg.outer_boxes_scale ?? 1) !== 1) {
    throw new Error(
      `task.model.outer_boxes_scale: outer boxes for masks are not supported yet; leave it 1.0, got ${cfg.outer_boxes_scale}`,
    );
  }
  const na = cfg.norm_activation;
  const norm = {
    activation: na.activation,
    useSyncBn: na.use_sync_bn,
    normMomentum: na.norm_momentum,
    normEpsilon: na.norm_epsilon,
  };
  const rpnHead = new RPNHead({
    minLevel: cfg.min_level,
    maxLevel: cfg.max_level,
    numAnchorsPerLocation: cfg.anchor.num_scales * cfg.anchor.aspect_ratios.length,
    numConvs: cfg.rpn_head.num_convs,
    numFilters: cfg.rpn_head.num_filters,
    useSeparableConv: cfg.rpn_head.use_separable_conv,
    ...norm,
  });
  const dh = cfg.detection_head;
  const stages = 1 + (cfg.roi_sampler.cascade_iou_thresholds?.length ?? 0);
  const detectionHeads = Array.from(
    { length: stages },
    (_, s) =>
      new DetectionHead({
        name: s ? `detection_head_${s}` : 'detection_head',
        numClasses: cfg.num_classes,
        numConvs: dh.num_convs,
        numFilters: dh.num_filters,
        useSeparableConv: dh.use_separable_conv,
        numFcs: dh.num_fcs,
        fcDims: dh.fc_dims,
        classAgnosticBboxPred: dh.class_agnostic_bbox_pred,
        ...norm,
      }),
  );
  const rg = cfg.roi_generator;
  const roiGenerator = new MultilevelROIGenerator({
    train: {
      preNmsTopK: rg.pre_nms_top_k,
      preNmsScoreThreshold: rg.pre_nms_score_threshold,
      preNmsMinSizeThreshold: rg.pre_nms_min_size_threshold,
      nmsIouThreshold: rg.nms_iou_threshold,
      numProposals: rg.num_proposals,
    },
    test: {
      preNmsTopK: rg.test_pre_nms_top_k,
      preNmsScoreThreshold: rg.test_pre_nms_score_threshold,
      preNmsMinSizeThreshold: rg.test_pre_nms_min_size_threshold,
      nmsIouThreshold: rg.test_nms_iou_threshold,
      numProposals: rg.test_num_proposals,
    },
    useBatchedNms: rg.use_batched_nms,
  });
  const g = cfg.detection_generator;
  const detectionGenerator = new RCNNDetectionGenerator({
    applyNms: g.apply_nms,
    preNmsTopK: g.pre_nms_top_k,
    preNmsScoreThreshold: g.pre_nms_score_threshold,
    nmsIouThreshold: g.nms_iou_threshold,
    maxNumDetections: g.max_num_detections,
    nmsVersion: g.nms_version,
    softNmsSigma: g.soft_nms_sigma ?? null,
    useSigmoidProbability: g.use_sigmoid_probability ?? false,
  });
  // MG factory.build_maskrcnn: the first sampler subsamples; each cascade stage re-labels every
  // RoI at its IoU threshold, without GT boxes mixed in.
  const rs = cfg.roi_sampler;
  const roiSamplers = [
    new ROISampler({
      mixGtBoxes: rs.mix_gt_boxes,
      numSampledRois: rs.num_sampled_rois,
      foregroundFraction: rs.foreground_fraction,
      foregroundIouThreshold: rs.foreground_iou_threshold,
      backgroundIouHighThreshold: rs.background_iou_high_threshold,
      backgroundIouLowThreshold: rs.background_iou_low_threshold,
    }),
    ...(rs.cascade_iou_thresholds ?? []).map(
      (iou) =>
        new ROISampler({
          mixGtBoxes: false,
          numSampledRois: rs.num_sampled_rois,
          foregroundIouThreshold: iou,
          backgroundIouHighThreshold: iou,
          backgroundIouLowThreshold: 0,
          skipSubsampling: true,
        }),
    ),
  ];
  let maskSampler: MaskSampler | null = null;
  let maskHead: MaskHead | null = null;
  if (cfg.include_mask) {
    const mh = cfg.mask_head;
    if (!mh || !cfg.mask_roi_aligner) {
      throw new Error('task.model: include_mask needs mask_head and mask_roi_aligner');
    }
    // MG passes no use_sync_bn to the mask head (plain BN; the same on one replica).
    maskHead = new MaskHead({
      numClasses: cfg.num_classes,
      upsampleFactor: mh.upsample_factor,
      numConvs: mh.num_convs,
      numFilters: mh.num_filters,
      useSeparableConv: mh.use_separable_conv,
      classAgnostic: mh.class_agnostic,
      activation: na.activation,
      normMomentum: na.norm_momentum,
      normEpsilon: na.norm_epsilon,
    });
    // MG: mask_target_size = mask_roi_aligner.crop_size · mask_head.upsample_factor.
    maskSampler = new MaskSampler(
      cfg.mask_roi_aligner.crop_size * mh.upsample_factor,
      cfg.mask_sampler?.num_sampled_masks ?? 128,
    );
  }
  const aligner = (a: { crop_size: number; sample_offset: number }, field: string) => {
    if (!Number.isInteger(a.crop_size) || a.crop_size < 1) {
      throw new Error(
        `task.model.${field}.crop_size must be a positive integer, got ${a.crop_size}`,
      );
    }
    return { cropSize: a.crop_size, sampleOffset: a.sample_offset };
  };
  return new MaskRCNNModel({
    backbone,
    decoder,
    rpnHead,
    detectionHeads,
    roiGenerator,
    roiAligner: aligner(cfg.roi_aligner, 'roi_aligner'),
    detectionGenerator,
    maskHead,
    maskRoiAligner:
      cfg.include_mask && cfg.mask_roi_aligner
        ? aligner(cfg.mask_roi_aligner, 'mask_roi_aligner')
        : undefined,
    roiSamplers,
    maskSampler,
    classAgnosticBboxPred: dh.class_agnostic_bbox_pred,
    cascadeClassEnsemble: dh.cascade_class_ensemble,
    minLevel: cfg.min_level,
    maxLevel: cfg.max_level,
    numScales: cfg.anchor.num_scales,
    aspectRatios: cfg.anchor.aspect_ratios,
    anchorSize: cfg.anchor.anchor_size,
  });
}
