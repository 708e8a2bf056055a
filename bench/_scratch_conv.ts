import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/core/backend/index.js';
import { KernelScope, type WasmBackendHandle } from '../src/core/backend/wasm/kernel_scope.js';
import { convGeometry, padForTaps, tapWindow } from '../src/core/backend/wasm/conv2d_backprop.js';
await initBackend('wasm');
const be = tf.backend() as unknown as WasmBackendHandle;
function rnd(shape: number[]) { return tf.randomUniform(shape, -1, 1); }
function time(name: string, f: () => void, reps = 3) {
  f();
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) { const t0 = performance.now(); f(); ts.push(performance.now() - t0); }
  ts.sort((a, b) => a - b);
  console.log(name.padEnd(40), ts[Math.floor(reps / 2)].toFixed(2));
}
const shapes: [number[], number, number, number][] = [[[32, 32, 32, 16], 16, 3, 1], [[32, 16, 16, 32], 32, 3, 2], [[8, 56, 56, 64], 64, 3, 1], [[32,16,16,32],32,1,1]];
for (const [xs, co, k, st] of shapes) {
  console.log('---', xs, co, k, st);
  const x = rnd(xs) as tf.Tensor4D; const f = rnd([k, k, xs[3], co]) as tf.Tensor4D;
  const y = tf.conv2d(x, f, st, 'same'); const dy = rnd(y.shape);
  const xi = x as unknown as tf.TensorInfo, dyi = dy as unknown as tf.TensorInfo;
  time('fwd', () => tf.dispose(tf.conv2d(x, f, st, 'same')));
  const attrs = { strides: [st, st], pad: 'same', dataFormat: 'NHWC', filterShape: [k, k, xs[3], co] } as const;
  const g = convGeometry(xs, [k, k, xs[3], co], attrs as never, false);
  time('filter current', () => tf.dispose(tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as never) as tf.Tensor));
  time('input current', () => tf.dispose(tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, { ...attrs, inputShape: xs } as never) as tf.Tensor));
  // inner parts
  const s = new KernelScope(be);
  time('  pad', () => { s.free(padForTaps(s, xi, g)); });
  const xPad = padForTaps(s, xi, g);
  time('  tapWindow', () => { s.free(tapWindow(s, xPad, g, 1, 1, 1)); });
  const P = g.batch * g.outH * g.outW;
  const win = s.reshape(tapWindow(s, xPad, g, 1, 1, 1), [1, P, g.inC]);
  const dy3 = s.reshape(dyi, [1, P, g.outC]);
  time('  matmul tA', () => { s.free(s.matMul(win, dy3, true, false)); });
  // B: im2colT + XNN matmul
  time('B im2colT+mm', () => {
    const sc = new KernelScope(be);
    const xT = sc.transpose(padForTaps(sc, xi, g), [3, 0, 1, 2]);
    const taps: tf.TensorInfo[] = [];
    for (let i = 0; i < g.fh; i++) for (let j = 0; j < g.fw; j++) taps.push(sc.reshape(tapWindow(sc, xT, g, i, j, 2), [g.inC, P]));
    const cols = sc.concat(taps, 0);
    const out = sc.matMul(sc.reshape(cols, [1, g.fh * g.fw * g.inC, P]), dy3);
    sc.keep(out); sc.dispose(); be.disposeData(out.dataId);
  });
  time('  transpose x', () => { s.free(s.transpose(xi, [3, 0, 1, 2])); });
  // A: one conv
  time('A one conv', () => {
    const sc = new KernelScope(be);
    const needH = (g.outH - 1) * g.sh + (g.fh - 1) * g.dh + 1, needW = (g.outW - 1) * g.sw + (g.fw - 1) * g.dw + 1;
    const xp = sc.slice(padForTaps(sc, xi, g), [0, 0, 0, 0], [g.batch, needH, needW, g.inC]);
    const xT = sc.transpose(xp, [3, 1, 2, 0]);
    const fT = sc.transpose(dyi, [1, 2, 0, 3]);
    const out = sc.run('Conv2D', { x: xT, filter: fT }, { strides: [g.dh, g.dw], pad: 'valid', dataFormat: 'NHWC', dilations: [g.sh, g.sw] });
    const r = sc.transpose(out, [1, 2, 0, 3]);
    sc.keep(r); sc.dispose(); be.disposeData(r.dataId);
  });
  s.dispose();
  tf.dispose([x, f, y, dy]);
}
