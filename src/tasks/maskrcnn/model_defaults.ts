/**
 * The `task.model` section of each of Model Garden's R-CNN experiments
 * (official/vision/configs/maskrcnn.py: `fasterrcnn_resnetfpn_coco`, `maskrcnn_resnetfpn_coco`,
 * `maskrcnn_spinenet_coco`, `cascadercnn_spinenet_coco`), as overrides of the `MaskRCNN`
 * defaults ({@link maskrcnnModelConfig}). The task's experiment factories build on these.
 */
import { deepMerge } from '../../core/config/merge.js';
import { maskrcnnModelConfig, type MaskRCNNModelConfigParsed } from './config.js';

const spinenet49 = {
  backbone: { type: 'spinenet', spinenet: { model_id: '49', min_level: 3, max_level: 7 } },
  decoder: { type: 'identity' },
  anchor: { anchor_size: 3 },
  num_classes: 91,
  input_size: [640, 640, 3],
  min_level: 3,
  max_level: 7,
  include_mask: true,
};

export const MASKRCNN_EXPERIMENT_MODELS: Readonly<Record<string, Record<string, unknown>>> = {
  fasterrcnn_resnetfpn_coco: {
    num_classes: 91,
    input_size: [1024, 1024, 3],
    include_mask: false,
    mask_head: null,
    mask_sampler: null,
    mask_roi_aligner: null,
  },
  maskrcnn_resnetfpn_coco: { num_classes: 91, input_size: [1024, 1024, 3], include_mask: true },
  // common.NormActivation(use_sync_bn=True): momentum 0.99, epsilon 0.001.
  maskrcnn_spinenet_coco: {
    ...spinenet49,
    norm_activation: { use_sync_bn: true, norm_momentum: 0.99, norm_epsilon: 0.001 },
  },
  cascadercnn_spinenet_coco: {
    ...spinenet49,
    roi_sampler: { cascade_iou_thresholds: [0.6, 0.7] },
    detection_head: { class_agnostic_bbox_pred: true, cascade_class_ensemble: true },
    norm_activation: {
      use_sync_bn: true,
      activation: 'swish',
      norm_momentum: 0.99,
      norm_epsilon: 0.001,
    },
  },
};

/** The parsed `task.model` of `experiment` (MG's defaults) with `model` (a YAML's) over it. */
export function experimentModelConfig(
  experiment: string,
  model: Record<string, unknown> = {},
): MaskRCNNModelConfigParsed {
  const base = MASKRCNN_EXPERIMENT_MODELS[experiment];
  if (!base) {
    throw new Error(
      `unknown R-CNN experiment '${experiment}' (one of ${Object.keys(MASKRCNN_EXPERIMENT_MODELS).join(', ')})`,
    );
  }
  return maskrcnnModelConfig.parse(deepMerge(base, model));
}
