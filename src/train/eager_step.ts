/** The eager step runner lives in src/core/eager_step.ts (shared with the engine's fallback). */
export { EagerStepRunner, type EagerStepOptions } from '../core/eager_step.js';
