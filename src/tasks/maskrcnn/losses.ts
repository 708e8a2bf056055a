/**
 * Model Garden's Mask R-CNN task losses (official/vision/tasks/maskrcnn.py `build_losses`,
 * configs/maskrcnn.py `Losses`): RPN score and box losses over the parser's per-level targets,
 * Fast R-CNN class and box losses averaged over the detection heads (cascade stages), the mask
 * loss, weighted and summed, plus l2 (l2_weight_decay / 2 · Σw² over kernels), times loss_weight.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Losses } from '../../core/task.js';
import { float, bool, config } from '../../core/config/index.js';
import {
  fastrcnnBoxLoss,
  fastrcnnClassLoss,
  maskrcnnLoss,
  rpnBoxLoss,
  rpnScoreLoss,
} from '../../losses/maskrcnn.js';

/** MG `maskrcnn.Losses`. */
export const maskrcnnLossesConfig = config({
  loss_weight: float(1.0),
  rpn_huber_loss_delta: float(1 / 9),
  frcnn_huber_loss_delta: float(1.0),
  frcnn_class_use_binary_cross_entropy: bool(false),
  frcnn_class_loss_top_k_percent: float(1.0),
  l2_weight_decay: float(0.0),
  rpn_score_weight: float(1.0),
  rpn_box_weight: float(1.0),
  frcnn_class_weight: float(1.0),
  frcnn_box_weight: float(1.0),
  mask_weight: float(1.0),
});

export interface MaskRCNNLossesConfig {
  loss_weight: number;
  rpn_huber_loss_delta: number;
  frcnn_huber_loss_delta: number;
  frcnn_class_use_binary_cross_entropy: boolean;
  frcnn_class_loss_top_k_percent: number;
  rpn_score_weight: number;
  rpn_box_weight: number;
  frcnn_class_weight: number;
  frcnn_box_weight: number;
  mask_weight: number;
}

export interface MaskRCNNLossInputs {
  /** The training forward's outputs (rpn_scores, rpn_boxes: level → tensor; the rest tensors). */
  outputs: Record<string, tf.Tensor | Record<string, tf.Tensor>>;
  /** Level → [B, H, W, A] in {1, 0, −1}. */
  rpnScoreTargets: Record<string, tf.Tensor>;
  /** Level → [B, H, W, 4·A]. */
  rpnBoxTargets: Record<string, tf.Tensor>;
  /** The l2 term (already l2_weight_decay / 2 · Σw²). */
  regularization: tf.Scalar;
  numStages: number;
  includeMask: boolean;
  classAgnosticBboxPred: boolean;
}

function tensor(outputs: MaskRCNNLossInputs['outputs'], key: string): tf.Tensor {
  const t = outputs[key];
  if (!(t instanceof tf.Tensor)) throw new Error(`mask r-cnn losses: the outputs lack '${key}'`);
  return t;
}

function levels(outputs: MaskRCNNLossInputs['outputs'], key: string): Record<string, tf.Tensor> {
  const t = outputs[key];
  if (!t || t instanceof tf.Tensor) {
    throw new Error(`mask r-cnn losses: the outputs lack the levels of '${key}'`);
  }
  return t;
}

export function maskrcnnTaskLosses(inputs: MaskRCNNLossInputs, cfg: MaskRCNNLossesConfig): Losses {
  const { outputs } = inputs;
  return tf.tidy(() => {
    // MG: RpnScoreLoss normalised by box_outputs.shape[1] (the sampled RoIs per image).
    const numRois = tensor(outputs, 'box_outputs').shape[1] as number;
    const rpnScore = rpnScoreLoss(levels(outputs, 'rpn_scores'), inputs.rpnScoreTargets, numRois);
    const rpnBox = rpnBoxLoss(
      levels(outputs, 'rpn_boxes'),
      inputs.rpnBoxTargets,
      cfg.rpn_huber_loss_delta,
    );
    const cls: tf.Scalar[] = [];
    const box: tf.Scalar[] = [];
    for (let s = 0; s < inputs.numStages; s++) {
      const suffix = s ? `_${s}` : '';
      const classTargets = tensor(outputs, `class_targets${suffix}`);
      cls.push(
        fastrcnnClassLoss(
          tensor(outputs, `class_outputs${suffix}`),
          classTargets,
          cfg.frcnn_class_use_binary_cross_entropy,
          cfg.frcnn_class_loss_top_k_percent,
        ),
      );
      box.push(
        fastrcnnBoxLoss(
          tensor(outputs, `box_outputs${suffix}`),
          classTargets,
          tensor(outputs, `box_targets${suffix}`),
          cfg.frcnn_huber_loss_delta,
          inputs.classAgnosticBboxPred,
        ),
      );
    }
    // Cascade: each loss averaged over the heads.
    const frcnnCls = tf.div(tf.addN(cls), inputs.numStages) as tf.Scalar;
    const frcnnBox = tf.div(tf.addN(box), inputs.numStages) as tf.Scalar;
    const mask = inputs.includeMask
      ? maskrcnnLoss(
          tensor(outputs, 'mask_outputs'),
          tensor(outputs, 'mask_targets'),
          tensor(outputs, 'mask_class_targets'),
        )
      : tf.scalar(0);
    const modelLoss = tf.addN([
      tf.mul(cfg.rpn_score_weight, rpnScore),
      tf.mul(cfg.rpn_box_weight, rpnBox),
      tf.mul(cfg.frcnn_class_weight, frcnnCls),
      tf.mul(cfg.frcnn_box_weight, frcnnBox),
      tf.mul(cfg.mask_weight, mask),
    ]) as tf.Scalar;
    const total = tf.mul(cfg.loss_weight, tf.add(modelLoss, inputs.regularization)) as tf.Scalar;
    return {
      total_loss: total,
      rpn_score_loss: rpnScore,
      rpn_box_loss: rpnBox,
      frcnn_cls_loss: frcnnCls,
      frcnn_box_loss: frcnnBox,
      mask_loss: mask as tf.Scalar,
      model_loss: modelLoss,
      l2_regularization_loss: tf.clone(inputs.regularization),
    } as unknown as tf.TensorContainer;
  }) as unknown as Losses;
}
