/**
 * Training kernels that @tensorflow/tfjs-backend-wasm does not register.
 * (Filled in by the wasm-kernels work; see the Foundation issue.)
 */
export function registerWasmTrainingKernels(): void {}
