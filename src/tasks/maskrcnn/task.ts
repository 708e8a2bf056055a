/**
 * Mask R-CNN / Faster R-CNN / Cascade RCNN-RS task (Model Garden
 * `official/vision/tasks/maskrcnn.py`): builds the model from the backbone and decoder factories
 * and `buildMaskRCNN`, runs the training forward (RPN targets and cropped GT masks from the parser)
 * with MG's losses, and evaluates boxes and masks with the streaming COCO evaluator (./metric.ts).
 *
 * Batch features (MG's parser labels): `image` [B, H, W, 3], `image_info` [B, 4, 2];
 * training: `rpn_score_targets/<l>` [B, H_l, W_l, A], `rpn_box_targets/<l>` [B, H_l, W_l, 4A],
 * `gt_boxes` [B, M, 4], `gt_classes` [B, M] (padded with −1), `gt_masks` [B, M, S, S];
 * evaluation: `groundtruths/*` as the RetinaNet parser's.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CallArgs } from '../../core/layer.js';
import type {
  ForwardResult,
  InitCheckpointSpec,
  InputOptions,
  InputPipeline,
  Losses,
  Metric,
  Task,
} from '../../core/task.js';
import {
  boxToOriginal,
  labelOf,
  type Detection,
  type TaskInference,
} from '../../core/inference.js';
import { cocoLabels } from '../../data/label_maps/coco.js';
import { computePaddedSize } from '../../data/ops/resize_and_crop.js';
import { l2Regularization } from '../../losses/l2.js';
import { rleToJson } from '../../ops/masks/coco_segmentation.js';
import { pasteInstanceMask } from '../../ops/masks/paste.js';
import { encodeMask } from '../../ops/masks/rle.js';
import { buildBackbone } from '../../modeling/backbones/factory.js';
import { buildDecoder } from '../../modeling/decoders/factory.js';
import {
  buildMaskRCNN,
  type MaskRCNNModel,
  type MaskRCNNOutputs,
} from '../../modeling/models/maskrcnn_model.js';
import { MEAN_RGB, STDDEV_RGB } from '../../data/in_memory.js';
import {
  maskRCNNParserRef,
  type MaskRCNNParserOptions,
} from '../../data/parsers/maskrcnn_parser.js';
import { defaultDataWorkers } from '../image_classification/task.js';
import { cocoInstancesFromTfRecords } from '../../data/converters/tfrecord_to_coco.js';
import { CocoGroundTruth } from '../../evaluation/coco/dataset.js';
import { CocoDetectionMetric } from '../retinanet/task.js';
import { TensorBatchInput } from '../tensor_batch_input.js';
import type { MaskRCNNDataConfig, MaskRCNNTaskConfig } from './config.js';
import { maskrcnnTaskLosses } from './losses.js';
import { CocoInstanceMetric } from './metric.js';

export type MaskRCNNBatch = Record<string, tf.Tensor>;

/** The levels min..max as strings. */
function levels(min: number, max: number): string[] {
  return Array.from({ length: max - min + 1 }, (_, i) => String(min + i));
}

function feature(batch: MaskRCNNBatch, name: string): tf.Tensor {
  const t = batch[name];
  if (!t) throw new Error(`maskrcnn batch lacks '${name}'`);
  return t;
}

/** Level outputs flattened to `section/level` (Model Garden's names in `outputs.npz`). */
export function flattenOutputs(out: MaskRCNNOutputs): Record<string, tf.Tensor> {
  const flat: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(out)) {
    if (v instanceof tf.Tensor) flat[k] = v;
    else for (const [l, t] of Object.entries(v)) flat[`${k}/${l}`] = t;
  }
  return flat;
}

export class MaskRCNNTask implements Task<MaskRCNNModel, MaskRCNNBatch, MaskRCNNOutputs> {
  readonly type = 'maskrcnn';
  readonly defaultEvalMetric = 'AP';
  private gtPromise: Promise<CocoGroundTruth> | null = null;

  constructor(readonly config: MaskRCNNTaskConfig) {
    const m = config.model;
    if (m.input_size.length !== 3 || m.input_size[2] !== 3) {
      throw new Error(
        `task.model.input_size must be [height, width, 3], got [${m.input_size.join(', ')}]`,
      );
    }
    if (!(m.num_classes > 1)) {
      throw new Error(
        `task.model.num_classes must be > 1 (class 0 is the background), got ${m.num_classes}`,
      );
    }
    if (m.include_mask && !(m.mask_head && m.mask_sampler && m.mask_roi_aligner)) {
      throw new Error(
        'task.model.include_mask is true but mask_head, mask_sampler or mask_roi_aligner is null',
      );
    }
  }

  /** Detection heads: 1, or 1 + len(cascade_iou_thresholds). */
  get numStages(): number {
    return 1 + (this.config.model.roi_sampler.cascade_iou_thresholds?.length ?? 0);
  }

  buildModel(): MaskRCNNModel {
    const m = this.config.model;
    const backbone = buildBackbone(m.backbone, m.norm_activation);
    const decoder = buildDecoder(m.decoder, {
      inputSpecs: backbone.outputSpecs,
      minLevel: m.min_level,
      maxLevel: m.max_level,
      normActivation: m.norm_activation,
    });
    const model = buildMaskRCNN(backbone, decoder, {
      ...m,
      mask_head: m.include_mask ? m.mask_head : null,
      mask_sampler: m.include_mask ? m.mask_sampler : null,
      mask_roi_aligner: m.include_mask ? m.mask_roi_aligner : null,
    });
    // MG's MaskRCNNTask sets `model.backbone.trainable = False` when freeze_backbone is set.
    if (this.config.freeze_backbone) model.backbone.trainable = false;
    return model;
  }

  /** MG `initialize`: 'all', or 'backbone' and/or 'decoder'. */
  initCheckpoint(): InitCheckpointSpec | null {
    const path = this.config.init_checkpoint;
    if (!path) return null;
    const raw = this.config.init_checkpoint_modules;
    const modules = (Array.isArray(raw) ? raw : [raw]).map((s) => s.trim()).filter(Boolean);
    for (const s of modules) {
      if (s !== 'all' && s !== 'backbone' && s !== 'decoder') {
        throw new Error(
          `task.init_checkpoint_modules: '${s}' is not a module of an R-CNN model; use 'all', 'backbone' or 'decoder'`,
        );
      }
    }
    return { path, modules: modules.length ? modules : ['all'] };
  }

  /**
   * Inference outputs under Model Garden's names (what `vision-garden forward` writes):
   * `backbone_features/<l>`, `decoder_features/<l>`, `rpn_scores/<l>`, `rpn_boxes/<l>`, the
   * per-stage RoI outputs and the detections (with `detection_masks`). `extras.image_shape`
   * ([B, 2] un-padded sizes) clips proposals and detections; without it, the full image size.
   */
  inferenceOutputs(
    model: MaskRCNNModel,
    images: tf.Tensor,
    extras: Record<string, tf.Tensor>,
  ): Record<string, tf.Tensor> {
    const unused = Object.keys(extras).filter((k) => k !== 'image_shape');
    if (unused.length) {
      throw new Error(`an R-CNN model takes images and image_shape, not ${unused.join(', ')}`);
    }
    const [b, h, w] = images.shape;
    const shape = extras.image_shape;
    if (shape && (shape.rank !== 2 || shape.shape[1] !== 2 || shape.shape[0] !== b)) {
      throw new Error(
        `image_shape must be [batch ${b}, 2] (height, width), got [${shape.shape.join(', ')}]`,
      );
    }
    return tf.tidy(() => {
      const imageShape = shape
        ? tf.cast(shape, 'float32')
        : tf.tile(tf.tensor2d([[h!, w!]]), [b!, 1]);
      return flattenOutputs(model.apply({ images, image_shape: imageShape }, { training: false }));
    });
  }

  /** A batch of zeros with the parser's feature shapes (training and evaluation features). */
  dummyBatch(batchSize: number): MaskRCNNBatch {
    const m = this.config.model;
    const p = this.config.train_data.parser;
    const [h, w] = m.input_size;
    const a = m.anchor.num_scales * m.anchor.aspect_ratios.length;
    const n = p.max_num_instances;
    const info = tf.tile(
      tf.tensor3d([
        [
          [h, w],
          [h, w],
          [1, 1],
          [0, 0],
        ],
      ]),
      [batchSize, 1, 1],
    );
    const out: MaskRCNNBatch = {
      image: tf.zeros([batchSize, h, w, 3]),
      image_info: info,
      gt_boxes: tf.fill([batchSize, n, 4], -1),
      gt_classes: tf.fill([batchSize, n], -1, 'int32'),
    };
    if (m.include_mask) {
      out.gt_masks = tf.zeros([batchSize, n, p.mask_crop_size, p.mask_crop_size]);
    }
    for (const l of levels(m.min_level, m.max_level)) {
      const s = 2 ** Number(l);
      const [hl, wl] = [Math.ceil(h / s), Math.ceil(w / s)];
      out[`rpn_score_targets/${l}`] = tf.fill([batchSize, hl, wl, a], -1, 'int32');
      out[`rpn_box_targets/${l}`] = tf.zeros([batchSize, hl, wl, a * 4]);
    }
    return out;
  }

  /** The Mask R-CNN parser's options for a DataConfig (MG `MaskRCNNTask.build_inputs`). */
  parserOptionsFor(dc: MaskRCNNDataConfig): MaskRCNNParserOptions {
    const m = this.config.model;
    const p = dc.parser;
    if (p.num_channels !== 3) {
      throw new Error(`parser.num_channels: only 3 (RGB) is supported, got ${p.num_channels}`);
    }
    if (!p.keep_aspect_ratio) {
      throw new Error(
        'parser.keep_aspect_ratio: false is not supported (resize_and_crop keeps the aspect ratio)',
      );
    }
    // MG's Mask R-CNN parser takes match_threshold / unmatched_threshold and uses neither (the
    // RoIs are matched in the model's ROI sampler); they are accepted for that reason.
    void [p.match_threshold, p.unmatched_threshold];
    return {
      output_size: [m.input_size[0], m.input_size[1]],
      pad: p.pad,
      min_level: m.min_level,
      max_level: m.max_level,
      num_scales: m.anchor.num_scales,
      aspect_ratios: [...m.anchor.aspect_ratios],
      anchor_size: m.anchor.anchor_size,
      rpn_match_threshold: p.rpn_match_threshold,
      rpn_unmatched_threshold: p.rpn_unmatched_threshold,
      rpn_batch_size_per_im: p.rpn_batch_size_per_im,
      rpn_fg_fraction: p.rpn_fg_fraction,
      aug_rand_hflip: p.aug_rand_hflip,
      aug_scale_min: p.aug_scale_min,
      aug_scale_max: p.aug_scale_max,
      skip_crowd_during_training: p.skip_crowd_during_training,
      max_num_instances: p.max_num_instances,
      include_mask: m.include_mask,
      mask_crop_size: p.mask_crop_size,
      mean: [...MEAN_RGB],
      stddev: [...STDDEV_RGB],
    };
  }

  async buildInputs(
    which: 'train' | 'validation',
    opts: InputOptions,
  ): Promise<InputPipeline<MaskRCNNBatch>> {
    const key = which === 'train' ? 'train_data' : 'validation_data';
    const dc = this.config[key];
    if (!(dc.global_batch_size > 0)) {
      throw new Error(`task.${key}.global_batch_size must be > 0, got ${dc.global_batch_size}`);
    }
    if (dc.is_training !== opts.training) {
      throw new Error(
        `task.${key}.is_training: ${dc.is_training} is not supported (the ${which} input runs with is_training ${opts.training})`,
      );
    }
    if (dc.tfds_name) {
      throw new Error(
        `task.${key}.tfds_name: built-in datasets are not supported for detection; use input_path`,
      );
    }
    if (dc.file_type !== 'tfrecord') {
      throw new Error(
        `task.${key}.file_type '${dc.file_type}' is not readable here (only 'tfrecord')`,
      );
    }
    const path = dc.input_path;
    if (typeof path !== 'string' && !Array.isArray(path)) {
      throw new Error(`task.${key}.input_path: a mapping of named inputs is not supported here`);
    }
    if ((Array.isArray(path) && path.length === 0) || path === '') {
      throw new Error(
        `task.${key}.input_path: set it to TFRecord files of detection tf.Examples (with masks: data coco-to-tfrecord --include_masks)`,
      );
    }
    const { ParallelPipeline, tfrecordSource } = await import('../../data/pipeline/index.js');
    const pipeline = new ParallelPipeline({
      source: tfrecordSource(path),
      map: maskRCNNParserRef(this.parserOptionsFor(dc)),
      training: opts.training,
      batchSize: dc.global_batch_size,
      seed: (dc.seed ?? opts.seed) >>> 0,
      shuffleBufferSize: dc.shuffle_buffer_size,
      workers: await defaultDataWorkers(),
      dropRemainder: dc.drop_remainder,
    });
    return new TensorBatchInput(pipeline, 'tfrecord_maskrcnn');
  }

  forward(
    model: MaskRCNNModel,
    batch: MaskRCNNBatch,
    args: CallArgs,
  ): ForwardResult<MaskRCNNOutputs> {
    const m = this.config.model;
    // MG passes image_info[:, 1, :] (the scaled image size) to clip proposals and detections.
    const imageShape = tf.squeeze(
      tf.slice(feature(batch, 'image_info'), [0, 1, 0], [-1, 1, 2]),
      [1],
    );
    if (!args.training) {
      const outputs = model.apply(
        { images: feature(batch, 'image'), image_shape: imageShape },
        args,
      );
      // MG's validation_step computes no loss.
      return { losses: { total_loss: tf.scalar(0) }, outputs };
    }
    const outputs = model.apply(
      {
        images: feature(batch, 'image'),
        image_shape: imageShape,
        gt_boxes: feature(batch, 'gt_boxes'),
        gt_classes: feature(batch, 'gt_classes'),
        gt_masks: m.include_mask ? feature(batch, 'gt_masks') : null,
      },
      args,
    );
    const lv = levels(m.min_level, m.max_level);
    const per = (p: string) => Object.fromEntries(lv.map((l) => [l, feature(batch, `${p}/${l}`)]));
    const l2 = l2Regularization(
      model
        .trainableWeights()
        .filter((w) => w.regularize)
        .map((w) => w.variable),
      this.config.losses.l2_weight_decay,
    );
    const losses: Losses = maskrcnnTaskLosses(
      {
        outputs: outputs as Record<string, tf.Tensor | Record<string, tf.Tensor>>,
        rpnScoreTargets: per('rpn_score_targets'),
        rpnBoxTargets: per('rpn_box_targets'),
        regularization: l2,
        numStages: this.numStages,
        includeMask: m.include_mask,
        classAgnosticBboxPred: m.detection_head.class_agnostic_bbox_pred,
      },
      this.config.losses,
    );
    return { losses, outputs };
  }

  /**
   * The evaluation ground truth as MG's `_build_coco_metrics` chooses it: `annotation_file` when
   * set, else with include_mask a scan of validation_data's TFRecords (MG writes it to
   * annotation.json; it is kept in memory here, read once per task).
   */
  private groundTruth(): Promise<CocoGroundTruth> {
    if (this.gtPromise) return this.gtPromise;
    const file = this.config.annotation_file;
    const path = this.config.validation_data.input_path;
    let load: Promise<CocoGroundTruth>;
    if (file) {
      load = Promise.resolve().then(() => CocoGroundTruth.fromFile(file));
    } else if (typeof path !== 'string' && !Array.isArray(path)) {
      load = Promise.reject(
        new Error('task.validation_data.input_path: a mapping of named inputs is not supported'),
      );
    } else {
      load = cocoInstancesFromTfRecords(path, { includeMask: true }).then(
        (ds) => new CocoGroundTruth(ds, `ground truth scanned from ${String(path)}`),
      );
    }
    this.gtPromise = load;
    // A failed read is not kept, so the next evaluation reads again.
    load.catch(() => {
      if (this.gtPromise === load) this.gtPromise = null;
    });
    return load;
  }

  buildMetrics(training: boolean): Metric<MaskRCNNOutputs, MaskRCNNBatch>[] {
    if (training) return [];
    // MG's COCOEvaluator for Mask R-CNN: COCO's maxDets [1, 10, 100].
    const maxDetections = 100;
    const includeMask = this.config.model.include_mask;
    const metric =
      includeMask || this.config.annotation_file
        ? new CocoInstanceMetric({
            groundTruth: () => this.groundTruth(),
            includeMask,
            maxDetections,
          })
        : // Boxes only, no annotation file: the ground truth of the evaluated examples.
          new CocoDetectionMetric(maxDetections);
    // The metrics read the generator's detection tensors and the batch's ground truth only.
    return [metric as unknown as Metric<MaskRCNNOutputs, MaskRCNNBatch>];
  }

  /**
   * Prediction (src/core/inference.ts): the Mask R-CNN parser's evaluation preprocessing of
   * `validation_data` (normalise, aspect-preserving fit into input_size, zero padding to
   * 2^max_level), the model's RPN, RoI heads and detection generator in one graph, detections in
   * the original image's pixels; with include_mask each detection's 28x28 mask pasted at the
   * original resolution as the COCO evaluation does (box / image_info scale, paste_instance_masks,
   * > 0.5) and given as COCO RLE.
   */
  inference(): TaskInference<MaskRCNNModel> {
    const m = this.config.model;
    if (!m.detection_generator.apply_nms) {
      throw new Error(
        'task.model.detection_generator.apply_nms: prediction needs NMS (set it true)',
      );
    }
    const parser = this.parserOptionsFor(this.config.validation_data);
    const desired = parser.output_size;
    const includeMask = m.include_mask;
    const names = ['detection_boxes', 'detection_scores', 'detection_classes', 'num_detections'];
    if (includeMask) names.push('detection_masks');
    return {
      kind: 'detection',
      preprocessing: {
        input_size: [desired[0], desired[1], 3],
        method: 'resize_pad',
        center_crop_fraction: null,
        padded_size: parser.pad !== false ? computePaddedSize(desired, 2 ** m.max_level) : desired,
        interpolation: 'bilinear',
        mean: [...MEAN_RGB],
        stddev: [...STDDEV_RGB],
      },
      // Model Garden's COCO models: 91 classes, class id = COCO category id.
      labels: m.num_classes === 91 ? cocoLabels() : null,
      labelSource: m.num_classes === 91 ? 'COCO category names' : 'class ids (no label map)',
      outputs: (model, inputs) => {
        const out = this.inferenceOutputs(model, inputs.image, { image_shape: inputs.image_shape });
        // The other outputs are freed by the caller's tidy (or left out of the graph).
        return Object.fromEntries(names.map((k) => [k, out[k]]));
      },
      decode: (outputs, frame, labels, opts) => {
        const n = outputs.num_detections.data[0];
        const boxes = outputs.detection_boxes.data;
        const scores = outputs.detection_scores.data;
        const classes = outputs.detection_classes.data;
        const masks = outputs.detection_masks;
        const [mh, mw] = masks ? masks.shape.slice(1) : [0, 0];
        const [h, w] = frame.original;
        const [sy, sx] = frame.scale;
        const threshold = opts.scoreThreshold ?? 0;
        const detections: Detection[] = [];
        for (let i = 0; i < n; i++) {
          if (scores[i] < threshold) continue;
          const box = boxes.subarray(4 * i, 4 * i + 4);
          const d: Detection = {
            box: boxToOriginal(box, frame),
            classId: classes[i],
            label: labelOf(labels, classes[i]),
            score: scores[i],
          };
          if (masks) {
            // As the evaluation: the unclipped box in original pixels, [x, y, w, h].
            const [y0, x0, y1, x1] = [box[0] / sy, box[1] / sx, box[2] / sy, box[3] / sx];
            const mask = masks.data.subarray(i * mh * mw, (i + 1) * mh * mw);
            const pasted = pasteInstanceMask(mask, mh, mw, [x0, y0, x1 - x0, y1 - y0], h, w);
            d.mask = rleToJson(encodeMask(pasted, h, w));
          }
          detections.push(d);
        }
        return { kind: 'detection', detections };
      },
    };
  }
}
