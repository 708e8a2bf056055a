import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/core/backend/index.js';
import { KernelScope, type WasmBackendHandle } from '../src/core/backend/wasm/kernel_scope.js';
import { convGeometry, padForTaps, tapWindow } from '../src/core/backend/wasm/conv2d_backprop.js';
await initBackend('wasm');
const be = tf.backend() as unknown as WasmBackendHandle;
function rnd(shape: number[]) { return tf.randomUniform(shape, -1, 1); }
const acc = new Map<string, number>();
function T<R>(name: string, f: () => R): R { const t0 = performance.now(); const r = f(); acc.set(name, (acc.get(name) ?? 0) + performance.now() - t0); return r; }
const shapes: [number[], number, number, number][] = [[[32, 32, 32, 16], 16, 3, 1], [[32, 16, 16, 32], 32, 3, 2], [[8, 56, 56, 64], 64, 3, 1]];
for (const [xs, co, k, st] of shapes) {
  console.log('---', xs, co, k, st);
  const x = rnd(xs) as tf.Tensor4D; const f = rnd([k, k, xs[3], co]) as tf.Tensor4D;
  const y = tf.conv2d(x, f, st, 'same'); const dy = rnd(y.shape);
  const xi = x as unknown as tf.TensorInfo, dyi = dy as unknown as tf.TensorInfo;
  const attrs = { strides: [st, st], pad: 'same', dataFormat: 'NHWC', filterShape: [k, k, xs[3], co] } as const;
  const g = convGeometry(xs, [k, k, xs[3], co], attrs as never, false);
  const P = g.batch * g.outH * g.outW;
  for (let rep = 0; rep < 4; rep++) {
    if (rep === 1) acc.clear();
    const sc = new KernelScope(be);
    const needH = (g.outH - 1) * g.sh + (g.fh - 1) * g.dh + 1, needW = (g.outW - 1) * g.sw + (g.fw - 1) * g.dw + 1;
    const xp = T('A pad+slice', () => sc.slice(padForTaps(sc, xi, g), [0, 0, 0, 0], [g.batch, needH, needW, g.inC]));
    const xT = T('A transpose x', () => sc.transpose(xp, [3, 1, 2, 0]));
    const fT = T('A transpose dy', () => sc.transpose(dyi, [1, 2, 0, 3]));
    const out = T('A conv', () => sc.run('Conv2D', { x: xT, filter: fT }, { strides: [g.dh, g.dw], pad: 'valid', dataFormat: 'NHWC', dilations: [g.sh, g.sw] }));
    T('A transpose out', () => sc.transpose(out, [1, 2, 0, 3]));
    // B
    const xT2 = T('B pad+transpose', () => sc.transpose(padForTaps(sc, xi, g), [3, 0, 1, 2]));
    const taps: tf.TensorInfo[] = [];
    T('B slices', () => { for (let i = 0; i < g.fh; i++) for (let j = 0; j < g.fw; j++) taps.push(sc.reshape(tapWindow(sc, xT2, g, i, j, 2), [g.inC, P])); });
    const cols = T('B concat', () => sc.concat(taps, 0));
    const dy3 = sc.reshape(dyi, [1, P, g.outC]);
    T('B matmul', () => sc.matMul(sc.reshape(cols, [1, g.fh * g.fw * g.inC, P]), dy3));
    // B': phase-split for stride: x -> [N, H/s, s, W/s, s, C] 
    T('fwd conv', () => sc.run('Conv2D', { x: xi, filter: f as unknown as tf.TensorInfo }, { strides: [st, st], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1] }));
    sc.dispose();
  }
  for (const [n, t] of acc) console.log(n.padEnd(24), (t / 3).toFixed(2));
  tf.dispose([x, f, y, dy]);
}
