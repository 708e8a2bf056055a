/**
 * Generic encode/decode glue between our plain objects and protobufjs types.
 *
 * Encoding follows what TensorFlow's C++ serialiser emits for proto3: singular scalar fields
 * holding their default (0, '', false, empty bytes) are omitted, members of a oneof are always
 * written when set (a `simple_value` of 0 must reach the file), submessages are written when
 * present (even when empty), and fields go out in field-number order (protobufjs sorts by id).
 */
import protobuf from 'protobufjs';
import { fromWireInt64, toWireInt64, type Int64 } from './int64.js';
import { DECODE_OPTIONS, tfMessageType, tfProtoRoot } from './schema.js';

tfProtoRoot.resolveAll();

export type PlainMessage = { [field: string]: unknown };

function isDefaultScalar(field: protobuf.Field, value: unknown): boolean {
  if (value instanceof Uint8Array) return value.length === 0;
  if (typeof value === 'bigint') return value === 0n;
  if (field.resolvedType instanceof protobuf.Enum) return value === 0;
  return value === 0 || value === '' || value === false;
}

function prepareValue(field: protobuf.Field, value: unknown, where: string): unknown {
  if (field.resolvedType instanceof protobuf.Type) {
    return prepareForWire(field.resolvedType, value as PlainMessage, where);
  }
  if (field.long) return toWireInt64(value as Int64, where);
  return value;
}

/**
 * Returns a copy of `obj` ready for `type.encode`: proto3 defaults dropped (except in oneofs),
 * bigint 64-bit values turned into protobufjs bit pairs, nested messages prepared recursively.
 * @param where path used in error messages (e.g. `Event.step`).
 */
export function prepareForWire(
  type: protobuf.Type,
  obj: PlainMessage,
  where = type.name,
): PlainMessage {
  if (obj === null || typeof obj !== 'object') {
    throw new TypeError(`${where}: expected a ${type.name} object, got ${String(obj)}`);
  }
  const out: PlainMessage = {};
  for (const field of type.fieldsArray) {
    const value = obj[field.name];
    if (value === undefined || value === null) continue;
    const path = `${where}.${field.name}`;
    if (field.repeated) {
      if (!Array.isArray(value) && !ArrayBuffer.isView(value)) {
        throw new TypeError(`${path}: expected an array`);
      }
      const items = Array.from(value as ArrayLike<unknown>);
      if (items.length === 0) continue;
      out[field.name] = items.map((v, i) => prepareValue(field, v, `${path}[${i}]`));
      continue;
    }
    if (
      !field.partOf &&
      !(field.resolvedType instanceof protobuf.Type) &&
      isDefaultScalar(field, value)
    ) {
      continue;
    }
    out[field.name] = prepareValue(field, value, path);
  }
  return out;
}

/** Encodes a plain object as the named `tensorflow.*` message. */
export function encodeMessage(typeName: string, obj: PlainMessage): Uint8Array {
  const type = tfMessageType(typeName);
  const out = type.encode(prepareForWire(type, obj, typeName)).finish();
  // protobufjs returns a Buffer under Node; hand out a plain Uint8Array view everywhere.
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Decodes bytes as the named `tensorflow.*` message into a plain object (camelCase fields,
 * defaults filled in, 64-bit values as decimal strings, bytes as Uint8Array views).
 */
export function decodeMessage(typeName: string, bytes: Uint8Array): PlainMessage {
  const type = tfMessageType(typeName);
  let message: protobuf.Message;
  try {
    message = type.decode(bytes);
  } catch (err) {
    throw new Error(
      `cannot decode ${typeName} (${bytes.length} bytes): ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return normalizeDecoded(type, type.toObject(message, DECODE_OPTIONS) as PlainMessage);
}

function normalizeValue(field: protobuf.Field, v: unknown): unknown {
  if (field.resolvedType instanceof protobuf.Type)
    return normalizeDecoded(field.resolvedType, v as PlainMessage);
  if (field.long) return fromWireInt64(v);
  if (field.type === 'bytes') {
    const b = v as Uint8Array;
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  return v;
}

/**
 * Rewrites a protobufjs plain object into our form, in place: unset submessages removed,
 * 64-bit values as number-or-bigint, bytes as plain Uint8Array views (not Buffers).
 */
function normalizeDecoded(type: protobuf.Type, obj: PlainMessage): PlainMessage {
  for (const field of type.fieldsArray) {
    const v = obj[field.name];
    if (v === undefined) continue;
    if (v === null) {
      delete obj[field.name];
    } else if (field.repeated) {
      obj[field.name] = (v as unknown[]).map((x) => normalizeValue(field, x));
    } else {
      obj[field.name] = normalizeValue(field, v);
    }
  }
  return obj;
}
