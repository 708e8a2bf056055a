/**
 * ONNX export of an inference graph: the engine's compiled graph of `fn` (src/engine) for one
 * image, made into a self-contained model with a dynamic batch axis.
 *
 *  - The graph is traced and lowered for a batch of one (as `CompiledModel` does); its weight
 *    inputs become initializers holding the variables' values.
 *  - The batch axis: an ONNX `Scan` over axis 0 of every data input runs that one-image graph
 *    per image and stacks its outputs, so any batch size runs the traced shapes exactly (the
 *    graph's Reshape and Expand constants hold the traced batch of one). Inputs and outputs
 *    are `[batch, ...]` with `batch` symbolic; output names are `fn`'s result paths.
 *  - Batch norm folding and constant folding: ONNX Runtime's hardware-independent 'basic'
 *    graph optimisations (constant folding, Conv+Mul/Add fusion) are applied and the optimised
 *    model is what is written, so no moving-statistics or scale/offset initializer of a
 *    convolution's batch norm remains (checked by test/export/onnx_export.test.ts).
 * The file runs in any ONNX Runtime (opset 17, standard operators only).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedVariable } from '../core/step_parts.js';
import { CompiledModel } from '../engine/compile_model.js';
import {
  ONNX_IR_VERSION,
  ONNX_OPSET,
  OnnxAttributeType,
  OnnxDataType,
  onnxRoot,
  type ModelObject,
} from '../engine/onnx_proto.js';
import { ortRuntime, type OrtRuntime } from '../engine/session.js';

export interface OnnxExportOptions {
  /** The ONNX Runtime that optimises the graph (default onnxruntime-node). */
  runtime?: OrtRuntime;
  /** Apply ONNX Runtime's 'basic' optimisations (batch norm folding); default true. */
  optimize?: boolean;
  /** Model doc string. */
  docString?: string;
}

interface ValueInfo {
  name: string;
  type: {
    tensor_type: {
      elem_type: number;
      shape?: { dim?: { dim_value?: number; dim_param?: string }[] };
    };
  };
}

interface NodeObject {
  input: string[];
  output: string[];
  name?: string;
  op_type: string;
  attribute?: Record<string, unknown>[];
}

interface GraphObject {
  node?: NodeObject[];
  name?: string;
  initializer?: Record<string, unknown>[];
  input?: ValueInfo[];
  output?: ValueInfo[];
  value_info?: ValueInfo[];
}

function decode(bytes: Uint8Array): ModelObject {
  const type = onnxRoot().lookupType('onnx.ModelProto');
  // bytes stay Uint8Array (weights and constants can be large).
  return type.toObject(type.decode(bytes), { longs: Number, defaults: false });
}

function encode(model: ModelObject): Uint8Array {
  const type = onnxRoot().lookupType('onnx.ModelProto');
  const err = type.verify(model);
  if (err) throw new Error(`onnx export: invalid ModelProto: ${err}`);
  return type.encode(type.fromObject(model)).finish();
}

function elemTypeOf(dtype: tf.DataType): number {
  if (dtype === 'float32') return OnnxDataType.FLOAT;
  if (dtype === 'int32') return OnnxDataType.INT32;
  if (dtype === 'bool') return OnnxDataType.BOOL;
  throw new Error(`onnx export: dtype ${dtype} is not supported`);
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]): ValueInfo {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: {
          dim: dims.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })),
        },
      },
    },
  };
}

/** A ValueInfo's type without its first (batch) axis. */
function withoutBatch(v: ValueInfo, name: string): ValueInfo {
  const dims = v.type.tensor_type.shape?.dim ?? [];
  return {
    name,
    type: {
      tensor_type: { elem_type: v.type.tensor_type.elem_type, shape: { dim: dims.slice(1) } },
    },
  };
}

async function initializerOf(name: string, v: tf.Variable): Promise<Record<string, unknown>> {
  const data = await v.data();
  const bytes = new Uint8Array(
    data.buffer as ArrayBuffer,
    data.byteOffset,
    data.byteLength,
  ).slice();
  return { name, dims: [...v.shape], data_type: elemTypeOf(v.dtype), raw_data: bytes };
}

/**
 * Exports `fn` (named tensors → structure of tensors, e.g. a task's inference graph) as ONNX bytes.
 * `example` holds one-image inputs (batch axis of size 1); `variables` are the weights it reads.
 */
export async function exportOnnx(
  fn: (inputs: Record<string, tf.Tensor>) => unknown,
  example: Record<string, tf.Tensor>,
  variables: NamedVariable[],
  opts: OnnxExportOptions = {},
): Promise<Uint8Array> {
  for (const [name, t] of Object.entries(example)) {
    if (t.shape[0] !== 1) {
      throw new Error(`onnx export: example input '${name}' must have batch 1, got [${t.shape}]`);
    }
  }
  const compiled = new CompiledModel(fn, { variables, fallback: 'error', what: 'exported model' });
  let lowered;
  let outputNames: string[];
  try {
    await compiled.prepare(example);
    lowered = compiled.loweredFor(example);
    outputNames = compiled.outputNames(example);
  } finally {
    await compiled.dispose();
  }
  const random = lowered.inputs.find((g) => g.kind === 'random');
  if (random) throw new Error('onnx export: the graph draws random numbers (is training off?)');

  const model = decode(lowered.bytes);
  const graph = model.graph as GraphObject;
  const byVar = new Map(variables.map((v) => [v.name, v.variable]));
  const inputInfo = new Map((graph.input ?? []).map((v) => [v.name, v]));
  const bodyInits = [...(graph.initializer ?? [])];
  const bodyNodes: NodeObject[] = [];
  const bodyInputs: ValueInfo[] = [];
  const outerInputs: ValueInfo[] = [];
  const scanInputs: string[] = [];
  const axes0 = '__export_axes0';
  bodyInits.push({ name: axes0, dims: [1], data_type: OnnxDataType.INT64, int64_data: [0] });
  for (const gi of lowered.inputs) {
    if (gi.kind !== 'input') continue;
    const variable = byVar.get(gi.name);
    if (variable) {
      bodyInits.push(await initializerOf(gi.onnxName, variable));
      continue;
    }
    const info = inputInfo.get(gi.onnxName);
    if (!info) throw new Error(`onnx export: graph input '${gi.onnxName}' has no type`);
    const item = `${gi.onnxName}__item`;
    bodyInputs.push(withoutBatch(info, item));
    bodyNodes.push({ input: [item, axes0], output: [gi.onnxName], op_type: 'Unsqueeze' });
    const dims = (info.type.tensor_type.shape?.dim ?? []).map((d) => d.dim_value ?? 0);
    outerInputs.push(
      valueInfo(gi.name, info.type.tensor_type.elem_type, ['batch', ...dims.slice(1)]),
    );
    scanInputs.push(gi.name);
  }
  bodyNodes.push(...(graph.node ?? []));
  const outputInfo = new Map((graph.output ?? []).map((v) => [v.name, v]));
  const bodyOutputs: ValueInfo[] = [];
  const outerOutputs: ValueInfo[] = [];
  lowered.outputNames.forEach((onnxName, i) => {
    const info = outputInfo.get(onnxName);
    if (!info) throw new Error(`onnx export: graph output '${onnxName}' has no type`);
    const item = `${outputNames[i]}__item`;
    bodyNodes.push({ input: [onnxName, axes0], output: [item], op_type: 'Squeeze' });
    bodyOutputs.push(withoutBatch(info, item));
    const dims = (info.type.tensor_type.shape?.dim ?? []).map((d) => d.dim_value ?? 0);
    outerOutputs.push(
      valueInfo(outputNames[i], info.type.tensor_type.elem_type, ['batch', ...dims.slice(1)]),
    );
  });
  const body: GraphObject = {
    name: 'per_image',
    node: bodyNodes,
    initializer: bodyInits,
    input: bodyInputs,
    output: bodyOutputs,
  };
  const scan: NodeObject = {
    input: scanInputs,
    output: outerOutputs.map((o) => o.name),
    name: 'batch_scan',
    op_type: 'Scan',
    attribute: [
      { name: 'body', type: OnnxAttributeType.GRAPH, g: body },
      { name: 'num_scan_inputs', type: OnnxAttributeType.INT, i: scanInputs.length },
    ],
  };
  const exported: ModelObject = {
    ir_version: ONNX_IR_VERSION,
    producer_name: 'vision-garden',
    doc_string: opts.docString ?? '',
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    graph: { name: 'vision_garden', node: [scan], input: outerInputs, output: outerOutputs },
  };
  const bytes = encode(exported);
  return opts.optimize === false ? bytes : optimize(bytes, opts.runtime);
}

/** ONNX Runtime's 'basic' (hardware-independent) optimisations, written back as a model. */
async function optimize(bytes: Uint8Array, runtime?: OrtRuntime): Promise<Uint8Array> {
  if (!runtime) {
    // onnxruntime-web (Node's fallback runtime) cannot write the optimised model.
    const { nodeRuntimeName } = await import('../engine/node_runtime.js');
    if (nodeRuntimeName !== 'onnxruntime-node') {
      throw new Error(
        'ONNX export needs onnxruntime-node to optimise the graph (npm i onnxruntime-node)',
      );
    }
  }
  const ort = await ortRuntime({ runtime });
  const { mkdtemp, readFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'vg-onnx-'));
  try {
    const file = join(dir, 'optimized.onnx');
    const session = await ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: 'basic',
      optimizedModelFilePath: file,
    });
    await session.release();
    return new Uint8Array(await readFile(file));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
