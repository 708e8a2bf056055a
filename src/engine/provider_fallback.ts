/**
 * An ONNX Runtime whose sessions take the first execution provider that can run the graph, in
 * the order given (the browser's: WebGPU, then WebGL, then wasm). ORT itself skips a provider
 * that is not available, but one that is available and cannot run some operator (WebGL lacks
 * many) fails the session; here the next provider is tried instead, and `onChoice` says which
 * one took each session.
 */
import type { OrtRuntime } from './session.js';

export function withProviderFallback(
  runtime: OrtRuntime,
  providers: readonly string[],
  onChoice: (provider: string, failures: string[]) => void = () => {},
): OrtRuntime {
  if (providers.length === 0) throw new Error('withProviderFallback: give at least one provider');
  return {
    Tensor: runtime.Tensor,
    InferenceSession: {
      async create(model, options = {}) {
        const failures: string[] = [];
        for (const provider of providers) {
          try {
            const session = await runtime.InferenceSession.create(model, {
              ...options,
              executionProviders: [provider],
            });
            onChoice(provider, failures);
            return session;
          } catch (err) {
            failures.push(`${provider}: ${(err as Error).message.split('\n')[0]}`);
          }
        }
        throw new Error(`no execution provider could run the model (${failures.join('; ')})`);
      },
    },
  };
}
