/**
 * A small builder for one ONNX graph: nodes with typed attributes, initializers (deduplicated
 * small constants), graph inputs and outputs with static shapes, serialised to ModelProto bytes
 * (opset 17, see ./onnx_proto.ts).
 */
import type * as tf from '@tensorflow/tfjs-core';
import {
  encodeModel,
  ONNX_IR_VERSION,
  ONNX_OPSET,
  OnnxAttributeType,
  OnnxDataType,
  type OnnxDataTypeValue,
} from './onnx_proto.js';

/** An attribute value with its ONNX type. */
export type AttrValue =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] }
  | { type: 'string'; value: string };

/** Attribute constructors: `{ axis: attr.int(1), perm: attr.ints([0, 3, 1, 2]) }`. */
export const attr = {
  int: (value: number): AttrValue => ({ type: 'int', value: Math.trunc(value) }),
  float: (value: number): AttrValue => ({ type: 'float', value }),
  ints: (value: number[]): AttrValue => ({ type: 'ints', value: value.map((v) => Math.trunc(v)) }),
  floats: (value: number[]): AttrValue => ({ type: 'floats', value }),
  string: (value: string): AttrValue => ({ type: 'string', value }),
};

/** ONNX element type of a tfjs dtype. */
export function onnxType(dtype: tf.DataType): OnnxDataTypeValue {
  switch (dtype) {
    case 'float32':
      return OnnxDataType.FLOAT;
    case 'int32':
      return OnnxDataType.INT32;
    case 'bool':
      return OnnxDataType.BOOL;
    default:
      throw new Error(`onnx: tfjs dtype '${dtype}' has no ONNX mapping in the engine`);
  }
}

/** Element types a constant can hold. */
export type ConstDtype = 'float32' | 'int32' | 'bool' | 'int64';

interface NodeObject {
  input: string[];
  output: string[];
  name: string;
  op_type: string;
  attribute: Record<string, unknown>[];
}

function attributeObject(name: string, a: AttrValue): Record<string, unknown> {
  switch (a.type) {
    case 'int':
      return { name, type: OnnxAttributeType.INT, i: a.value };
    case 'float':
      return { name, type: OnnxAttributeType.FLOAT, f: a.value };
    case 'ints':
      return { name, type: OnnxAttributeType.INTS, ints: a.value };
    case 'floats':
      return { name, type: OnnxAttributeType.FLOATS, floats: a.value };
    case 'string':
      return { name, type: OnnxAttributeType.STRING, s: new TextEncoder().encode(a.value) };
  }
}

function rawBytes(values: ArrayLike<number>, dtype: ConstDtype): Uint8Array {
  switch (dtype) {
    case 'float32':
      return new Uint8Array(Float32Array.from(values).buffer);
    case 'int32':
      return new Uint8Array(Int32Array.from(values).buffer);
    case 'bool':
      return Uint8Array.from(values, (v) => (v ? 1 : 0));
    case 'int64':
      return new Uint8Array(BigInt64Array.from(Array.from(values), (v) => BigInt(v)).buffer);
  }
}

function constType(dtype: ConstDtype): OnnxDataTypeValue {
  return dtype === 'int64' ? OnnxDataType.INT64 : onnxType(dtype);
}

function valueInfo(name: string, shape: number[], elemType: number): Record<string, unknown> {
  return {
    name,
    type: {
      tensor_type: { elem_type: elemType, shape: { dim: shape.map((d) => ({ dim_value: d })) } },
    },
  };
}

export class GraphBuilder {
  private readonly nodes: NodeObject[] = [];
  private readonly initializers: Record<string, unknown>[] = [];
  private readonly inputs: Record<string, unknown>[] = [];
  private readonly outputs: Record<string, unknown>[] = [];
  private readonly constCache = new Map<string, string>();
  private readonly names = new Set<string>();
  private counter = 0;

  /** A name not used before in this graph, starting with `prefix`. */
  fresh(prefix = 't'): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    this.names.add(name);
    return name;
  }

  /** Reserves an exact name (throws if taken). */
  reserve(name: string): string {
    if (this.names.has(name)) throw new Error(`onnx graph: name '${name}' is used twice`);
    this.names.add(name);
    return name;
  }

  /**
   * Adds a node. `outputs` gives the output names, or a count of fresh ones (default 1).
   * Returns the output names.
   */
  node(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    outputs: string[] | number = 1,
  ): string[] {
    const outs =
      typeof outputs === 'number'
        ? Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()))
        : outputs;
    this.nodes.push({
      input: inputs,
      output: outs,
      name: `n${this.nodes.length}_${opType}`,
      op_type: opType,
      attribute: Object.entries(attrs).map(([k, v]) => attributeObject(k, v)),
    });
    return outs;
  }

  /** Adds a single-output node and returns its output name (`into` names it). */
  op(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    into?: string,
  ): string {
    return this.node(opType, inputs, attrs, into ? [into] : 1)[0];
  }

  /** An initializer holding `values` of `shape`; identical small constants are shared. */
  constant(values: ArrayLike<number>, shape: number[], dtype: ConstDtype): string {
    const small = values.length <= 64;
    const key = small ? `${dtype}|${shape.join(',')}|${Array.from(values).join(',')}` : '';
    if (small) {
      const hit = this.constCache.get(key);
      if (hit) return hit;
    }
    const name = this.fresh('const');
    this.initializers.push({
      name,
      dims: shape,
      data_type: constType(dtype),
      raw_data: rawBytes(values, dtype),
    });
    if (small) this.constCache.set(key, name);
    return name;
  }

  /** A 1-D int64 constant (shapes, axes, pads, slice bounds). */
  int64s(values: number[]): string {
    return this.constant(values, [values.length], 'int64');
  }

  /** A scalar constant of a tfjs dtype. */
  scalar(value: number, dtype: tf.DataType | 'int64'): string {
    return this.constant([value], [], dtype as ConstDtype);
  }

  addInput(name: string, shape: number[], dtype: tf.DataType): void {
    this.inputs.push(valueInfo(name, shape, onnxType(dtype)));
  }

  addOutput(name: string, shape: number[], dtype: tf.DataType): void {
    this.outputs.push(valueInfo(name, shape, onnxType(dtype)));
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /** Operator types in node order (for tests and profiles). */
  opTypes(): string[] {
    return this.nodes.map((n) => n.op_type);
  }

  /** Serialises the graph as a ModelProto. */
  toBytes(graphName = 'vision_garden_step'): Uint8Array {
    return encodeModel({
      ir_version: ONNX_IR_VERSION,
      producer_name: 'vision-garden',
      producer_version: '0.1.0',
      opset_import: [{ domain: '', version: ONNX_OPSET }],
      graph: {
        name: graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
  }
}
