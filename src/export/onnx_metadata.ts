/**
 * ONNX `ModelProto.metadata_props` (field 14, `StringStringEntryProto {key = 1, value = 2}`)
 * written and read without decoding the model: entries are appended to the serialised model
 * (a repeated field may be split anywhere in a message) and read by skipping every other
 * top-level field, so the graph and its weights are never parsed.
 */
import protobuf from 'protobufjs';

const METADATA_PROPS = 14;

/** `model` with `entries` added to its metadata_props. */
export function appendOnnxMetadata(model: Uint8Array, entries: Record<string, string>): Uint8Array {
  const w = protobuf.Writer.create();
  for (const [key, value] of Object.entries(entries)) {
    w.uint32((METADATA_PROPS << 3) | 2).fork();
    w.uint32((1 << 3) | 2).string(key);
    w.uint32((2 << 3) | 2).string(value);
    w.ldelim();
  }
  const extra = w.finish();
  const out = new Uint8Array(model.length + extra.length);
  out.set(model, 0);
  out.set(extra, model.length);
  return out;
}

/** The metadata_props of a serialised ONNX model (later entries win). */
export function readOnnxMetadata(model: Uint8Array): Record<string, string> {
  const r = protobuf.Reader.create(model);
  const out: Record<string, string> = {};
  try {
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag >>> 3 !== METADATA_PROPS || (tag & 7) !== 2) {
        r.skipType(tag & 7);
        continue;
      }
      const end = r.uint32() + r.pos;
      let key = '';
      let value = '';
      while (r.pos < end) {
        const t = r.uint32();
        if (t >>> 3 === 1) key = r.string();
        else if (t >>> 3 === 2) value = r.string();
        else r.skipType(t & 7);
      }
      out[key] = value;
    }
  } catch (err) {
    throw new Error(`not a valid ONNX model (${(err as Error).message})`, { cause: err });
  }
  return out;
}
