/**
 * vision-garden for the browser (package.json `exports` condition `browser`): the library API
 * without the Node-only parts. Importing it registers every experiment. Node-only modules are
 * replaced by their `*.browser.ts` twins through package.json `browser` (images decode through
 * the browser's own decoders, files are fetched by URL, and checkpoints, TFRecords, training and
 * the server stay in Node); test/browser/bundle.test.ts bundles this entry for the browser and
 * fails if any Node built-in or Node-only package is reached. Compiled inference takes
 * onnxruntime-web as `runtime` (docs/library.md).
 */
import './tasks/index.js';

export {
  ensureBackend,
  createModel,
  createModelConfig,
  loadModel,
  modelWeights,
  type ModelSpec,
  type CreateModelOptions,
} from './api/create.js';
export { VisionModel, type ModelInfo, type RunOptions } from './api/vision_model.js';
export {
  loadOnnxModel,
  OnnxVisionModel,
  ONNX_METADATA_KEY,
  type OnnxModelOptions,
} from './api/onnx_model.js';
export { toImage, type ImageInput, type RawImage, type HostImage } from './api/images.js';
export { preprocessImage } from './data/ops/inference_preprocess.js';
export type {
  ClassificationPrediction,
  DetectionPrediction,
  SegmentationPrediction,
  Detection,
  Prediction,
  Preprocessing,
  RankedClass,
  TaskInference,
  DecodeOptions,
} from './core/inference.js';
export {
  initBackend,
  BACKEND_NAMES,
  BackendError,
  type BackendName,
} from './core/backend/index.js';
export { experiments, tasks } from './core/registry.js';
export { encodeVgModel, readVgModelJson, type VgModelJson } from './export/vg_format.js';
export type { OrtRuntime } from './engine/session.js';
export { withProviderFallback } from './engine/provider_fallback.js';
