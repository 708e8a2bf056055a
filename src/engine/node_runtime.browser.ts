/**
 * The browser build's stand-in for ./node_runtime.ts (package.json `browser`): there is no
 * default ONNX Runtime in the browser; ./session.ts imports this module only when no runtime was
 * passed, and the import fails with this message.
 */
throw new Error(
  'no ONNX Runtime given: in the browser pass onnxruntime-web as `runtime` (e.g. ' +
    "loadModel(url, { compiled: true, runtime: await import('onnxruntime-web') }))",
);
