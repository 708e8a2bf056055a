/**
 * Export of a {@link VisionModel}: the vg format (`saveModel`, src/api/save.ts) and ONNX
 * (`toOnnx`: the task's inference graph, src/export/onnx_export.ts). Both work for every task
 * that declares `Task.inference`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { exportOnnx, type OnnxExportOptions } from '../export/onnx_export.js';
import { appendOnnxMetadata } from '../export/onnx_metadata.js';
import { modelMeta } from './create.js';
import { ONNX_METADATA_KEY } from './onnx_model.js';
import type { VisionModel } from './vision_model.js';

/** One-image example inputs of a model's inference graph (zeros of the input size). */
export function exampleInputs(vm: VisionModel): Record<string, tf.Tensor> {
  const p = vm.preprocessing;
  const [h, w] = p.padded_size ?? [p.input_size[0], p.input_size[1]];
  // Video: one video's views stacked on the frame axis.
  const v = p.video;
  const frames = v ? [v.num_test_clips * v.num_test_crops * v.num_frames] : [];
  return {
    image: tf.zeros([1, ...frames, h, w, p.input_size[2]]),
    image_shape: tf.tensor2d([[p.input_size[0], p.input_size[1]]], [1, 2], 'float32'),
  };
}

/**
 * The model's inference graph as ONNX bytes: inputs `image` [batch, H, W, C] (normalised as
 * `vm.preprocessing` says) and, where the graph reads it, `image_shape` [batch, 2]; outputs
 * named as the task's inference outputs (e.g. `probabilities`; `detection_boxes`,
 * `detection_scores`, `detection_classes`, `num_detections`). The file's metadata_props hold
 * `vision_garden`: model.json's fields but the weights manifest (task, config, preprocessing,
 * labels), read by `loadOnnxModel`.
 */
export async function toOnnx(
  vm: VisionModel,
  opts: OnnxExportOptions & { generatedBy?: string } = {},
): Promise<Uint8Array> {
  const { generatedBy, ...exportOpts } = opts;
  const example = exampleInputs(vm);
  try {
    const bytes = await exportOnnx(vm.graph(), example, vm.namedVariables(), {
      docString: `vision-garden ${vm.info.taskType} model (${vm.info.experiment ?? 'run'}); preprocessing: ${JSON.stringify(vm.preprocessing)}`,
      ...exportOpts,
    });
    // The model's description, so that loadOnnxModel (./onnx_model.ts) preprocesses and decodes.
    return appendOnnxMetadata(bytes, {
      [ONNX_METADATA_KEY]: JSON.stringify(modelMeta(vm, generatedBy)),
    });
  } finally {
    tf.dispose(Object.values(example));
  }
}
