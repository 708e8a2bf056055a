/**
 * The engine's ONNX Runtime in Node when none is passed: onnxruntime-node (native) when it is
 * installed, else onnxruntime-web's Node build (the same runtime compiled to wasm, CPU only).
 * onnxruntime-node is an optional peer dependency: its install script downloads CUDA providers
 * on Linux x64 (and fails offline), so `npm i vision-garden` does not install it; `npm i
 * onnxruntime-node` adds the native runtime. `VG_ORT_RUNTIME=node|web` forces one. This is the
 * one module that imports either package (eslint enforces it); the browser build maps it to
 * ./node_runtime.browser.ts.
 */
import { availableParallelism } from 'node:os';
import type { OrtRuntime } from './session.js';

export type NodeRuntimeName = 'onnxruntime-node' | 'onnxruntime-web';

function isMissingPackage(err: unknown, pkg: string): boolean {
  const e = err as NodeJS.ErrnoException;
  return (
    (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') &&
    String(e.message).includes(pkg)
  );
}

async function pick(): Promise<{ runtime: OrtRuntime; name: NodeRuntimeName }> {
  const forced = process.env.VG_ORT_RUNTIME;
  if (forced !== undefined && forced !== '' && forced !== 'node' && forced !== 'web') {
    throw new Error(`VG_ORT_RUNTIME must be 'node' or 'web', got '${forced}'`);
  }
  if (forced !== 'web') {
    try {
      return { runtime: await import('onnxruntime-node'), name: 'onnxruntime-node' };
    } catch (err) {
      if (forced === 'node' || !isMissingPackage(err, 'onnxruntime-node')) {
        throw new Error(`cannot load onnxruntime-node: ${(err as Error).message.split('\n')[0]}`, {
          cause: err,
        });
      }
    }
  }
  const web = await import('onnxruntime-web');
  return { runtime: web as unknown as OrtRuntime, name: 'onnxruntime-web' };
}

const picked = await pick();

export const nodeRuntime: OrtRuntime = picked.runtime;

/** Which package {@link nodeRuntime} is. */
export const nodeRuntimeName: NodeRuntimeName = picked.name;

/** Threads of ORT's intra-op pool when none are given: every core (native runtime only). */
export function defaultThreads(): number | undefined {
  return picked.name === 'onnxruntime-node' ? availableParallelism() : undefined;
}
