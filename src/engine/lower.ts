/**
 * Lowering of a {@link Trace} to one ONNX model: the kernel calls that the requested outputs
 * depend on (dead calls are dropped), in recorded order, each through its lowering in
 * ./kernels; bound inputs and random draws become graph inputs, constants become initializers,
 * and every requested output becomes a graph output (through an Identity, so an output may also
 * be an input or a constant).
 */
import { GraphBuilder } from './graph_builder.js';
import { hasValueDependentShape, kernelLowering, UnsupportedKernelError } from './kernels/index.js';
import type { KernelContext } from './kernels/context.js';
import {
  channelsFirstAdaptation,
  constantTensor,
  hasChannelsFirstForm,
  isIdentityCall,
  LayoutNames,
} from './layout.js';
import type { KernelCall, Trace, TracedValue } from './trace.js';

/** A graph input: a bound input (by its trace name) or the i-th random draw. */
export type GraphInput =
  | { kind: 'input'; name: string; onnxName: string; value: TracedValue }
  | { kind: 'random'; index: number; onnxName: string; value: TracedValue };

export interface LoweredModel {
  bytes: Uint8Array;
  /** Graph inputs in declaration order (only those the outputs depend on). */
  inputs: GraphInput[];
  /** ONNX names of the requested outputs, in request order. */
  outputNames: string[];
  /** ONNX op types in node order. */
  opTypes: string[];
}

/** One call the engine cannot compile. */
export interface KernelProblem {
  kernel: string;
  /** Where it was called: a layer path, `<path> (backward)`, or `outside any layer`. */
  site: string;
  /** `no ONNX lowering`, the lowering's unsupported-variant message, or the value-dependence. */
  reason: string;
}

/**
 * Why a trace cannot be lowered: every kernel without a lowering, with an unsupported variant, or
 * whose output shape depends on values, each with the layer that called it.
 */
export class UnmappedKernelsError extends Error {
  override name = 'UnmappedKernelsError';
  /** Distinct kernel names, sorted. */
  readonly kernels: string[];
  constructor(readonly problems: KernelProblem[]) {
    const kernels = [...new Set(problems.map((p) => p.kernel))].sort();
    const lines = problems.map((p) => `${p.kernel} in ${p.site}: ${p.reason}`);
    super(`cannot compile kernel(s) ${kernels.join(', ')}: ${lines.join('; ')}`);
    this.kernels = kernels;
  }
}

/**
 * Where a call was made: its layer, else (backward and loss kernels run outside `apply`) the
 * layer of the nearest input that has one (`<path> (backward)`), a bound `model/<path>` weight
 * naming its layer, or `outside any layer`.
 */
function callSite(trace: Trace, call: KernelCall): string {
  if (call.layer) return call.layer;
  const seen = new Set<number>();
  const queue = call.inputs.map((i) => i.value);
  while (queue.length) {
    let v = queue.shift() as TracedValue;
    while (v.source.kind === 'view') v = trace.value(v.source.of);
    if (seen.has(v.id)) continue;
    seen.add(v.id);
    if (v.source.kind === 'input' && v.source.name.startsWith('model/')) {
      return `${v.source.name.slice('model/'.length).replace(/\/[^/]*$/, '')} (backward)`;
    }
    if (v.source.kind !== 'kernel') continue;
    const producer = trace.calls[v.source.call];
    if (producer.layer) return `${producer.layer} (backward)`;
    for (const i of producer.inputs) queue.push(i.value);
  }
  return 'outside any layer';
}

/** Problems of `calls`, one per kernel and site, in recorded order. */
function uniqueProblems(problems: KernelProblem[]): KernelProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.kernel}|${p.site}|${p.reason}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The calls the `outputs` depend on, in recorded order. */
function liveCalls(trace: Trace, outputs: TracedValue[]): KernelCall[] {
  const live = new Set<number>();
  const stack = [...outputs];
  const seen = new Set<number>();
  while (stack.length) {
    const v = stack.pop() as TracedValue;
    if (seen.has(v.id)) continue;
    seen.add(v.id);
    if (v.source.kind === 'view') stack.push(trace.value(v.source.of));
    else if (v.source.kind === 'kernel') {
      const call = trace.calls[v.source.call];
      if (!live.has(call.index)) {
        live.add(call.index);
        for (const i of call.inputs) stack.push(i.value);
      }
    }
  }
  return trace.calls.filter((c) => live.has(c.index));
}

/**
 * Lowers `trace` to an ONNX model computing `outputs`. Throws {@link UnmappedKernelsError} naming
 * every live kernel that has no lowering.
 */
export function lowerTrace(trace: Trace, outputs: TracedValue[]): LoweredModel {
  const calls = liveCalls(trace, outputs);
  const refused: KernelProblem[] = [];
  for (const c of calls) {
    if (hasValueDependentShape(c.kernelName, c.attrs)) {
      const shapes = c.outputs.map((o) => `[${o.shape}]`).join(', ');
      refused.push({
        kernel: c.kernelName,
        site: callSite(trace, c),
        reason: `its output shape depends on input values (the trace saw ${shapes}); use a padded, static-shape form`,
      });
    } else if (!kernelLowering(c.kernelName)) {
      refused.push({ kernel: c.kernelName, site: callSite(trace, c), reason: 'no ONNX lowering' });
    }
  }
  if (refused.length) throw new UnmappedKernelsError(uniqueProblems(refused));

  const b = new GraphBuilder();
  const inputs: GraphInput[] = [];

  /** The tfjs-layout ONNX name of a value, declaring inputs / initializers / views on first use. */
  const nameOf = (value: TracedValue): string => {
    const v = layouts.resolve(value);
    const known = layouts.knownTfjsName(v);
    if (known) return known;
    let name: string;
    switch (v.source.kind) {
      case 'input':
        name = b.reserve(`input_${inputs.length}`);
        b.addInput(name, v.shape, v.dtype);
        inputs.push({ kind: 'input', name: v.source.name, onnxName: name, value: v });
        break;
      case 'random':
        name = b.reserve(`random_${v.source.index}`);
        b.addInput(name, v.shape, v.dtype);
        inputs.push({ kind: 'random', index: v.source.index, onnxName: name, value: v });
        break;
      case 'constant':
        name = constantTensor(b, v.source.values, v.shape, v.dtype);
        break;
      case 'view':
        name = b.op('Reshape', [nameOf(trace.value(v.source.of)), b.int64s(v.shape)]);
        break;
      case 'kernel':
        throw new Error(`lowering: value ${v.id} is read before the kernel that writes it`);
    }
    layouts.setTfjs(v.id, name);
    return name;
  };
  const layouts = new LayoutNames(b, nameOf);

  const unsupported: KernelProblem[] = [];
  const traceBackend = trace.semanticsOf;
  for (const call of calls) {
    if (isIdentityCall(call)) {
      layouts.alias(call.outputs[0], call.inputs[0].value);
      continue;
    }
    const reserved = call.outputs.map((o) => b.reserve(`v${o.id}`));
    const adapted = channelsFirstAdaptation(call, layouts);
    const written = new Map<number, string>();
    const valueOf = (key: string) => {
      const found = call.inputs.find((i) => i.name === key);
      if (!found) throw new Error(`${call.kernelName}: no input '${key}'`);
      return found.value;
    };
    const ctx: KernelContext = {
      b,
      kernelName: call.kernelName,
      traceBackend,
      attrs: adapted?.attrs ?? call.attrs,
      // Names are made on first read: a channels-first lowering never reads the tfjs-layout
      // name of its activation, so no Transpose back is emitted for it.
      inputs: call.inputs.map((i, k) => {
        let name: string | undefined;
        return {
          key: i.name,
          get name() {
            name ??= adapted ? adapted.inputName(k) : nameOf(i.value);
            return name;
          },
          shape: adapted ? adapted.inputShapes[k] : i.value.shape,
          dtype: i.value.dtype,
        };
      }),
      outputs: call.outputs.map((o, k) => ({
        name: adapted?.outputChannelsFirst[k] ? b.reserve(`v${o.id}_cf`) : reserved[k],
        shape: adapted ? adapted.outputShapes[k] : o.shape,
        dtype: o.dtype,
      })),
      channelsFirst: (key) => layouts.channelsFirst(valueOf(key)),
      channelsFirstOperand: (key, rank) => layouts.broadcastOperand(valueOf(key), rank),
      constantValues: (key) => {
        const v = layouts.resolve(valueOf(key));
        return v.source.kind === 'constant' ? v.source.values : null;
      },
      channelsFirstOutput: (i = 0) => {
        const o = call.outputs[i];
        if (!hasChannelsFirstForm(o.shape.length)) {
          throw new Error(`${call.kernelName}: output ${i} has no channels-first form`);
        }
        const name = written.get(i) ?? b.reserve(`v${o.id}_cf`);
        written.set(i, name);
        return name;
      },
    };
    try {
      (kernelLowering(call.kernelName) as (c: KernelContext) => void)(ctx);
    } catch (err) {
      if (err instanceof UnsupportedKernelError) {
        unsupported.push({
          kernel: call.kernelName,
          site: callSite(trace, call),
          reason: err.message,
        });
      } else throw err;
    }
    call.outputs.forEach((o, k) => {
      const cf = adapted?.outputChannelsFirst[k] ? ctx.outputs[k].name : written.get(k);
      if (cf) layouts.setChannelsFirst(o.id, cf, reserved[k]);
      else layouts.setTfjs(o.id, reserved[k]);
    });
  }
  if (unsupported.length) throw new UnmappedKernelsError(uniqueProblems(unsupported));

  const outputNames = outputs.map((v, i) => {
    const name = b.reserve(`output_${i}`);
    b.op('Identity', [nameOf(v)], {}, name);
    b.addOutput(name, v.shape, v.dtype);
    return name;
  });
  return { bytes: b.toBytes(), inputs, outputNames, opTypes: b.opTypes() };
}
