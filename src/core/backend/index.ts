/**
 * The one place that selects the tensor backend.
 *
 * `@tensorflow/tfjs-core` is the tensor and autograd API everywhere; this module registers the
 * gradients, loads the requested backend and, for wasm, the training kernels it lacks
 * (see ./wasm_training_kernels.ts). Node-only backends are loaded with dynamic imports so the
 * browser bundle does not pull them in.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradients in Node ("gradient function not found for RealDiv").
import 'vision-garden/tfjs-gradients';
// …and the ones it lacks or gets wrong (GatherNd, ScatterNd, GatherV2 with batchDims).
import '../gradients.js';
import type { EngineFallback } from '../step_parts.js';

export const BACKEND_NAMES = ['onnx', 'cpu', 'wasm', 'tensorflow', 'webgpu', 'webgl'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export class BackendError extends Error {
  override name = 'BackendError';
}

export interface BackendOptions {
  /** Threads for backends that have a thread pool (wasm in browsers, tensorflow). */
  numThreads?: number;
}

export function isBackendName(name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name);
}

/**
 * tfjs backend that carries eager work for each name. `onnx` is the engine (src/engine): training
 * and evaluation steps are compiled to one ONNX graph and run by onnxruntime-node; the eager ops
 * around them (input batches, metrics, the one traced step per input signature) run on
 * tfjs-backend-wasm with the training kernels of ./wasm_training_kernels.ts, whose kernels the
 * tracer records (tracing on tfjs-backend-cpu works too, but its convolution gradients are
 * scalar JavaScript loops: a first step of minutes instead of seconds).
 */
export function tfjsBackendFor(name: BackendName): Exclude<BackendName, 'onnx'> {
  return name === 'onnx' ? 'wasm' : name;
}

const loaders: Record<Exclude<BackendName, 'onnx'>, (opts: BackendOptions) => Promise<void>> = {
  cpu: async () => {
    await import('@tensorflow/tfjs-backend-cpu');
    const { registerCpuDilatedConvKernels } = await import('./cpu_dilated_conv.js');
    registerCpuDilatedConvKernels();
    const { registerCpuResizeGradKernels } = await import('./cpu_resize_grad.js');
    registerCpuResizeGradKernels();
    const { registerCpuSegmentSumKernel } = await import('./cpu_segment_sum.js');
    registerCpuSegmentSumKernel();
  },
  wasm: async (opts) => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (opts.numThreads !== undefined) wasm.setThreadsCount(opts.numThreads);
    const { registerWasmTrainingKernels } = await import('./wasm_training_kernels.js');
    registerWasmTrainingKernels();
  },
  tensorflow: async () => {
    const pkg = '@tensorflow/tfjs-node';
    try {
      await import(pkg);
    } catch (err) {
      throw new BackendError(
        `backend 'tensorflow' needs the optional package ${pkg}, which is not installed ` +
          `(${(err as Error).message.split('\n')[0]}). Install it with \`npm install ${pkg}\`, ` +
          `or choose another backend (--backend cpu|wasm).`,
      );
    }
  },
  webgpu: async () => {
    const pkg = '@tensorflow/tfjs-backend-webgpu';
    try {
      await import(pkg);
    } catch {
      throw new BackendError(`backend 'webgpu' needs ${pkg} and a WebGPU-capable browser.`);
    }
  },
  webgl: async () => {
    // A dependency (the browser build's GPU backend); it registers itself on import, in a
    // browser only.
    await import('@tensorflow/tfjs-backend-webgl');
    if (!tf.findBackendFactory('webgl')) {
      throw new BackendError("backend 'webgl' needs a WebGL-capable browser");
    }
  },
};

/** Loads and activates a backend. Throws {@link BackendError} with a clear message on failure. */
export async function initBackend(name: string, opts: BackendOptions = {}): Promise<BackendName> {
  if (!isBackendName(name)) {
    throw new BackendError(`unknown backend '${name}'; choose one of: ${BACKEND_NAMES.join(', ')}`);
  }
  const tfjsName = tfjsBackendFor(name);
  await prepareTfjsBackend(tfjsName, opts);
  const ok = await tf.setBackend(tfjsName);
  if (!ok) throw new BackendError(`backend '${name}' failed to initialise on this machine`);
  await tf.ready();
  return name;
}

/**
 * tfjs backends whose Conv2D and depthwise backprop kernels honour a `dilations` attr: wasm
 * (./wasm_training_kernels.ts) and cpu (./cpu_dilated_conv.ts). Dilated convolutions take
 * their gradients from those kernels there, elsewhere through space-to-batch
 * (src/modeling/layers/conv.ts).
 */
export const DILATED_BACKPROP_BACKENDS: readonly string[] = ['cpu', 'wasm'];

/**
 * Loads and registers a tfjs backend without activating it, prepared as {@link initBackend}
 * prepares it: the wasm training kernels registered, and the cpu backend's "Hi, looks like you
 * are running TensorFlow.js in Node.js" banner (printed on its first tensor) turned off; our CLI
 * says which backends exist instead. The engine uses this for its tracing backend.
 */
export async function prepareTfjsBackend(
  name: Exclude<BackendName, 'onnx'>,
  opts: BackendOptions = {},
): Promise<void> {
  await loaders[name](opts);
  if (name === 'cpu') {
    const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
    if (cpu) cpu.firstUse = false;
  }
}

/** Whether steps run compiled on ONNX Runtime for this backend name. */
export function usesCompiledSteps(name: string): boolean {
  return name === 'onnx';
}

/**
 * What the engine does with a step it cannot compile (runtime.engine_fallback): the configured
 * value, else 'error' under CI (`CI` set and not 'false'/'0') or node's test runner
 * (`NODE_TEST_CONTEXT`), so a missing lowering fails loudly there, and 'warn' for users.
 */
export function resolveEngineFallback(
  configured: EngineFallback | null | undefined,
  env: Record<string, string | undefined> = typeof process === 'undefined' ? {} : process.env,
): EngineFallback {
  if (configured) return configured;
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
  return ci || env.NODE_TEST_CONTEXT !== undefined ? 'error' : 'warn';
}

/** The active backend's name. */
export function currentBackend(): string {
  return tf.getBackend();
}
