/**
 * Plain-JS (float64) reference implementations of the published update rules, written from the
 * formulas in the Keras / Model Garden sources, one array element at a time. Used by the optimizer
 * tests as the independent expectation.
 */
import * as tf from '@tensorflow/tfjs-core';
import { OptimizerState, type Optimizer } from '../../../src/train/optimizers/index.js';

export type Vec = number[];
export type RefState = Record<string, Vec>;
/** One reference step: returns the new parameters, updates `s` in place. */
export type RefStep = (p: Vec, g: Vec, s: RefState, lr: number, t: number) => Vec;

const slot = (s: RefState, k: string, n: number, init = 0) =>
  (s[k] ??= new Array<number>(n).fill(init));
const norm = (x: Vec) => Math.sqrt(x.reduce((a, b) => a + b * b, 0));

/** Keras legacy SGD (ResourceApplyKerasMomentum) with time-inverse decay on iterations = t-1. */
export function sgdRef(momentum: number, nesterov: boolean, decay = 0): RefStep {
  return (p, g, s, lr0, t) => {
    const lr = lr0 / (1 + decay * (t - 1));
    if (momentum === 0) return p.map((x, i) => x - lr * g[i]);
    const v = slot(s, 'momentum', p.length);
    return p.map((x, i) => {
      v[i] = momentum * v[i] - lr * g[i];
      return nesterov ? x + momentum * v[i] - lr * g[i] : x + v[i];
    });
  };
}

/** Keras Adam: lr_t = lr·sqrt(1−β2^t)/(1−β1^t); p −= lr_t·m/(sqrt(v)+ε); amsgrad uses max v. */
export function adamRef(b1: number, b2: number, eps: number, amsgrad = false): RefStep {
  return (p, g, s, lr, t) => {
    const m = slot(s, 'm', p.length);
    const v = slot(s, 'v', p.length);
    const vh = slot(s, 'vhat', p.length);
    const lrT = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
    return p.map((x, i) => {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      vh[i] = Math.max(vh[i], v[i]);
      return x - (lrT * m[i]) / (Math.sqrt(amsgrad ? vh[i] : v[i]) + eps);
    });
  };
}

/** MG AdamWeightDecay for one weight: decoupled decay with the plain lr, then the Adam step. */
export function adamwRef(
  b1: number,
  b2: number,
  eps: number,
  wd: number,
  decays: boolean,
): RefStep {
  const adam = adamRef(b1, b2, eps);
  return (p, g, s, lr, t) => {
    const decayed = decays ? p.map((x) => x - lr * wd * x) : p;
    const adamNew = adam(p, g, s, lr, t);
    // Adam's delta does not depend on p: apply it to the decayed value.
    return decayed.map((x, i) => x + (adamNew[i] - p[i]));
  };
}

/** Keras legacy RMSprop (ε inside the root with momentum, outside without). */
export function rmspropRef(rho: number, momentum: number, eps: number, centered: boolean): RefStep {
  return (p, g, s, lr) => {
    const rms = slot(s, 'rms', p.length);
    const mom = slot(s, 'momentum', p.length);
    const mg = slot(s, 'mg', p.length);
    return p.map((x, i) => {
      rms[i] = rho * rms[i] + (1 - rho) * g[i] * g[i];
      let denom = rms[i];
      if (centered) {
        mg[i] = rho * mg[i] + (1 - rho) * g[i];
        denom -= mg[i] * mg[i];
      }
      if (momentum > 0) {
        mom[i] = momentum * mom[i] + (lr * g[i]) / Math.sqrt(denom + eps);
        return x - mom[i];
      }
      return x - (lr * g[i]) / (Math.sqrt(denom) + eps);
    });
  };
}

/** MG LAMB on one weight. */
export function lambRef(
  b1: number,
  b2: number,
  eps: number,
  wd: number,
  decays: boolean,
  adapts: boolean,
): RefStep {
  return (p, g, s, lr, t) => {
    const m = slot(s, 'm', p.length);
    const v = slot(s, 'v', p.length);
    const u = p.map((x, i) => {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const mHat = m[i] / (1 - b1 ** t);
      const vHat = v[i] / (1 - b2 ** t);
      return mHat / (Math.sqrt(vHat) + eps) + (decays ? wd * x : 0);
    });
    const wn = norm(p);
    const un = norm(u);
    const r = adapts && wn > 0 && un > 0 ? wn / un : 1;
    return p.map((x, i) => x - r * lr * u[i]);
  };
}

/** MG LARS on one weight. */
export function larsRef(
  momentum: number,
  eeta: number,
  wd: number,
  nesterov: boolean,
  classic: boolean,
  decays: boolean,
  adapts: boolean,
): RefStep {
  return (p, g0, s, lr) => {
    const v = slot(s, 'momentum', p.length);
    const g = g0.map((x, i) => (decays ? x + wd * p[i] : x));
    const ratio = (w: Vec, u: Vec) => {
      const wn = norm(w);
      const un = norm(u);
      return adapts && wn > 0 && un > 0 ? (eeta * wn) / un : 1;
    };
    if (classic) {
      const scaled = lr * ratio(p, g);
      const out = p.map((x, i) => {
        v[i] = momentum * v[i] + scaled * g[i];
        const upd = nesterov ? momentum * v[i] + scaled * g[i] : v[i];
        return x - upd;
      });
      return out;
    }
    const upd = g.map((x, i) => {
      v[i] = momentum * v[i] + x;
      return nesterov ? momentum * v[i] + x : v[i];
    });
    const scaled = lr * ratio(p, upd);
    return p.map((x, i) => x - scaled * upd[i]);
  };
}

/** Keras Adagrad (accumulator starts at `init`). */
export function adagradRef(init: number, eps: number): RefStep {
  return (p, g, s, lr) => {
    const acc = slot(s, 'accumulator', p.length, init);
    return p.map((x, i) => {
      acc[i] += g[i] * g[i];
      return x - (lr * g[i]) / (Math.sqrt(acc[i]) + eps);
    });
  };
}

/** Gradient of a shifted quadratic plus a step-dependent wobble, so trajectories depend on p. */
export function quadGrad(p: Vec, t: number): Vec {
  return p.map((x, i) => 2 * (x - 0.25 * (i - 1)) + 0.3 * Math.sin(1.7 * i + t));
}

export const INIT: Vec = [0.8, -0.6, 1.5, 0.05, -2.0];

/** Runs `steps` updates of the reference; returns the parameters after each step. */
export function runRef(
  step: RefStep,
  steps: number,
  lr: (t: number) => number,
  init = INIT,
): Vec[] {
  let p = [...init];
  const s: RefState = {};
  const out: Vec[] = [];
  for (let t = 1; t <= steps; t++) {
    p = step(p, quadGrad(p, t), s, lr(t), t);
    out.push([...p]);
  }
  return out;
}

/** Runs `steps` updates of our optimizer through OptimizerState on one weight at `path`. */
export function runOurs(
  opt: Optimizer,
  steps: number,
  lr: (t: number) => number,
  path = 'model/dense/kernel',
  init = INIT,
): Vec[] {
  const state = new OptimizerState(opt);
  const v = tf.variable(tf.tensor1d(init));
  const out: Vec[] = [];
  for (let t = 1; t <= steps; t++) {
    const g = tf.tensor1d(quadGrad(Array.from(v.dataSync()), t));
    state.apply([{ path, variable: v }], [g], lr(t), t);
    g.dispose();
    out.push(Array.from(v.dataSync()));
  }
  state.dispose();
  v.dispose();
  return out;
}

/** Runs a tfjs optimizer on the same problem (constant lr baked into the optimizer). */
export function runTfjs(opt: tf.Optimizer, steps: number, init = INIT): Vec[] {
  const v = tf.variable(tf.tensor1d(init));
  const out: Vec[] = [];
  for (let t = 1; t <= steps; t++) {
    const g = tf.tensor1d(quadGrad(Array.from(v.dataSync()), t));
    opt.applyGradients({ [v.name]: g });
    g.dispose();
    out.push(Array.from(v.dataSync()));
  }
  opt.dispose();
  v.dispose();
  return out;
}
