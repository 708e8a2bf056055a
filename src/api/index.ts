/**
 * The library API: importing it registers every task and experiment (src/tasks/index.ts).
 * docs/library.md is the guide.
 */
import '../tasks/index.js';

export {
  ensureBackend,
  createModel,
  createModelFromRun,
  createModelConfig,
  loadModel,
  modelWeights,
  type ModelSpec,
  type CreateModelOptions,
} from './create.js';
export { saveModel } from './save.js';
export { toOnnx, exampleInputs } from './export.js';
export {
  loadOnnxModel,
  OnnxVisionModel,
  ONNX_METADATA_KEY,
  type OnnxModelOptions,
} from './onnx_model.js';
export { withProviderFallback } from '../engine/provider_fallback.js';
export type { OrtRuntime } from '../engine/session.js';
export { VisionModel, type ModelInfo, type ModelInput, type RunOptions } from './vision_model.js';
export { toImage, type ImageInput, type RawImage } from './images.js';
export { toVideo, type VideoInput } from './videos.js';
export { serve, PredictionServer, type ServeOptions, type ServerHealth } from './serve.js';
export { loadCheckpoint, loadOurCheckpoint, type LoadedCheckpoint } from './weights.js';
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
} from '../core/inference.js';
export { preprocessImage, preprocessVideo } from '../data/ops/inference_preprocess.js';
export {
  runExperiment,
  resolveExperiment,
  disposeRun,
  type RunOptions as ExperimentRunOptions,
  type RunResult as ExperimentRunResult,
} from '../train/run_experiment.js';
export { createCompiledStepRunner } from '../engine/compiled_step.js';
