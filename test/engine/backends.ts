/**
 * The tfjs backends the engine traces on: every engine test that traces runs once per backend.
 * The cpu backend's kernels never call other registered kernels, so its recordings are the
 * reference for the wasm backend's (whose composed training kernels do).
 */
import { test } from 'node:test';
import { initBackend } from '../../src/core/backend/index.js';
import { TRACEABLE_BACKENDS, type TraceableBackend } from '../../src/engine/trace.js';

/** Registers `fn` as one test per traceable backend, with that backend active. */
export function testOnEachBackend(
  name: string,
  fn: (backend: TraceableBackend) => Promise<void> | void,
): void {
  for (const backend of TRACEABLE_BACKENDS) {
    test(`${name} [${backend}]`, async () => {
      await initBackend(backend);
      await fn(backend);
    });
  }
}
