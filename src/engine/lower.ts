/**
 * Lowering of a {@link Trace} to one ONNX model: the kernel calls that the requested outputs
 * depend on (dead calls are dropped), in recorded order, each through its lowering in
 * ./kernels; bound inputs and random draws become graph inputs, constants become initializers,
 * and every requested output becomes a graph output (through an Identity, so an output may also
 * be an input or a constant).
 */
import { GraphBuilder } from './graph_builder.js';
import { kernelLowering, UnsupportedKernelError } from './kernels/index.js';
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

/** Why a trace cannot be lowered: kernels without a lowering (or with unsupported variants). */
export class UnmappedKernelsError extends Error {
  override name = 'UnmappedKernelsError';
  constructor(readonly kernels: string[]) {
    super(`no ONNX lowering for kernel(s): ${kernels.join(', ')}`);
  }
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
  const missing = new Set<string>();
  for (const c of calls) if (!kernelLowering(c.kernelName)) missing.add(c.kernelName);
  if (missing.size) throw new UnmappedKernelsError([...missing].sort());

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

  const unsupported: string[] = [];
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
      if (err instanceof UnsupportedKernelError) unsupported.push(err.message);
      else throw err;
    }
    call.outputs.forEach((o, k) => {
      const cf = adapted?.outputChannelsFirst[k] ? ctx.outputs[k].name : written.get(k);
      if (cf) layouts.setChannelsFirst(o.id, cf, reserved[k]);
      else layouts.setTfjs(o.id, reserved[k]);
    });
  }
  if (unsupported.length) throw new UnmappedKernelsError([...new Set(unsupported)]);

  const outputNames = outputs.map((v, i) => {
    const name = b.reserve(`output_${i}`);
    b.op('Identity', [nameOf(v)], {}, name);
    b.addOutput(name, v.shape, v.dtype);
    return name;
  });
  return { bytes: b.toBytes(), inputs, outputNames, opTypes: b.opTypes() };
}
