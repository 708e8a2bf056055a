/**
 * The protobuf messages of a TensorBundle checkpoint, added to the core TF proto root:
 *   tensorflow/core/protobuf/tensor_bundle.proto     BundleHeaderProto, BundleEntryProto
 *   tensorflow/core/framework/tensor_slice.proto     TensorSliceProto
 *   tensorflow/core/framework/versions.proto         VersionDef
 *   tensorflow/core/protobuf/trackable_object_graph.proto   TrackableObjectGraph
 * Field numbers and types follow those files. `google.protobuf.BoolValue` is declared here as
 * the identical `BoolValue { bool value = 1; }` (same bytes on the wire).
 */
import protobuf from 'protobufjs';
import { tfProtoRoot } from '../../core/proto/schema.js';
import { decodeMessage, encodeMessage } from '../../core/proto/wire.js';
import type { TensorShapeMessage } from '../../core/proto/tensor.js';
import type { Int64 } from '../../core/proto/int64.js';

const BUNDLE_PROTO_TEXT = `
syntax = "proto3";
package tensorflow;

message VersionDef {
  int32 producer = 1;
  int32 min_consumer = 2;
  repeated int32 bad_consumers = 3;
}
message TensorSliceProto {
  message Extent {
    int64 start = 1;
    oneof has_length { int64 length = 2; }
  }
  repeated Extent extent = 1;
}
message BundleHeaderProto {
  int32 num_shards = 1;
  enum Endianness {
    LITTLE = 0;
    BIG = 1;
  }
  Endianness endianness = 2;
  VersionDef version = 3;
}
message BundleEntryProto {
  DataType dtype = 1;
  TensorShapeProto shape = 2;
  int32 shard_id = 3;
  int64 offset = 4;
  int64 size = 5;
  fixed32 crc32c = 6;
  repeated TensorSliceProto slices = 7;
}
message BoolValue { bool value = 1; }
message TrackableObjectGraph {
  message TrackableObject {
    message ObjectReference {
      int32 node_id = 1;
      string local_name = 2;
    }
    message SerializedTensor {
      string name = 1;
      string full_name = 2;
      string checkpoint_key = 3;
    }
    message SlotVariableReference {
      int32 original_variable_node_id = 1;
      string slot_name = 2;
      int32 slot_variable_node_id = 3;
    }
    repeated ObjectReference children = 1;
    repeated SerializedTensor attributes = 2;
    repeated SlotVariableReference slot_variables = 3;
    RegisteredSaver registered_saver = 4;
    BoolValue has_checkpoint_values = 5;
  }
  repeated TrackableObject nodes = 1;
}
message RegisteredSaver {
  string name = 1;
  string object_name = 2;
}
`;

protobuf.parse(BUNDLE_PROTO_TEXT, tfProtoRoot, { keepCase: false });
tfProtoRoot.resolveAll();

export interface VersionDef {
  producer?: number;
  minConsumer?: number;
  badConsumers?: number[];
}

export interface BundleHeader {
  numShards: number;
  /** 0 little-endian, 1 big-endian. */
  endianness: number;
  version?: VersionDef;
}

export interface TensorSliceExtent {
  start: Int64;
  length?: Int64;
}

export interface BundleEntry {
  dtype: number;
  shape?: TensorShapeMessage;
  shardId: number;
  offset: Int64;
  size: Int64;
  crc32c: number;
  slices?: { extent?: TensorSliceExtent[] }[];
}

export interface ObjectReference {
  nodeId: number;
  localName: string;
}

export interface SerializedTensor {
  name: string;
  fullName: string;
  checkpointKey: string;
}

export interface SlotVariableReference {
  originalVariableNodeId: number;
  slotName: string;
  slotVariableNodeId: number;
}

export interface TrackableObject {
  children: ObjectReference[];
  attributes: SerializedTensor[];
  slotVariables: SlotVariableReference[];
  registeredSaver?: { name: string; objectName: string };
  hasCheckpointValues?: { value: boolean };
}

/** `tensorflow.TrackableObjectGraph`: node 0 is the root `tf.train.Checkpoint`. */
export interface TrackableObjectGraph {
  nodes: TrackableObject[];
}

type Plain = { [field: string]: unknown };

export function decodeBundleHeader(bytes: Uint8Array): BundleHeader {
  return decodeMessage('BundleHeaderProto', bytes) as unknown as BundleHeader;
}

export function encodeBundleHeader(h: BundleHeader): Uint8Array {
  return encodeMessage('BundleHeaderProto', h as unknown as Plain);
}

export function decodeBundleEntry(bytes: Uint8Array): BundleEntry {
  return decodeMessage('BundleEntryProto', bytes) as unknown as BundleEntry;
}

export function encodeBundleEntry(e: BundleEntry): Uint8Array {
  return encodeMessage('BundleEntryProto', e as unknown as Plain);
}

export function decodeObjectGraph(bytes: Uint8Array): TrackableObjectGraph {
  return decodeMessage('TrackableObjectGraph', bytes) as unknown as TrackableObjectGraph;
}

export function encodeObjectGraph(g: TrackableObjectGraph): Uint8Array {
  return encodeMessage('TrackableObjectGraph', g as unknown as Plain);
}
