/**
 * `tensorflow.Event` / `tensorflow.Summary`: the records of a TensorBoard event file
 * (tensorflow/core/util/event.proto, tensorflow/core/framework/summary.proto).
 *
 * Field names are the proto names in camelCase. 64-bit integers (`step`, tensor dims) are numbers
 * when safe, else bigints. Decoded messages omit unset submessages; scalar fields carry their
 * proto3 default (0, '') when absent, except oneof members, which are present only when set.
 */
import type { Int64 } from './int64.js';
import type { TensorProtoMessage } from './tensor.js';
import { decodeMessage, encodeMessage, type PlainMessage } from './wire.js';

/** The `file_version` of the first event in every file TF writes. */
export const EVENT_FILE_VERSION = 'brain.Event:2';

/** `SummaryMetadata.DataClass` values. */
export const DATA_CLASS = { UNKNOWN: 0, SCALAR: 1, TENSOR: 2, BLOB_SEQUENCE: 3 } as const;

export interface PluginData {
  pluginName: string;
  content?: Uint8Array;
}

export interface SummaryMetadata {
  pluginData?: PluginData;
  displayName?: string;
  summaryDescription?: string;
  dataClass?: number;
}

/** `Summary.Image`: an encoded image (PNG/JPEG bytes) with its size. */
export interface SummaryImage {
  height: number;
  width: number;
  /** 1 grayscale, 2 grayscale+alpha, 3 RGB, 4 RGBA, 5 DIGITAL_YUV, 6 BGRA. */
  colorspace: number;
  encodedImageString: Uint8Array;
}

export interface HistogramMessage {
  min: number;
  max: number;
  num: number;
  sum: number;
  sumSquares: number;
  bucketLimit: number[];
  bucket: number[];
}

export interface SummaryAudio {
  sampleRate: number;
  numChannels: Int64;
  lengthFrames: Int64;
  encodedAudioString: Uint8Array;
  contentType: string;
}

/** One `Summary.Value`: a tag and exactly one of the value kinds. */
export interface SummaryValue {
  tag: string;
  nodeName?: string;
  metadata?: SummaryMetadata;
  simpleValue?: number;
  obsoleteOldStyleHistogram?: Uint8Array;
  image?: SummaryImage;
  histo?: HistogramMessage;
  audio?: SummaryAudio;
  tensor?: TensorProtoMessage;
}

export interface SummaryMessage {
  value: SummaryValue[];
}

export interface SessionLogMessage {
  /** 0 unspecified, 1 START, 2 STOP, 3 CHECKPOINT. */
  status: number;
  checkpointPath?: string;
  msg?: string;
}

export interface LogMessageMessage {
  level: number;
  message: string;
}

export interface TaggedRunMetadata {
  tag: string;
  runMetadata: Uint8Array;
}

/** A `tensorflow.Event`; at most one of fileVersion..metaGraphDef is set. */
export interface EventMessage {
  /** Seconds since the Unix epoch. */
  wallTime: number;
  step: Int64;
  fileVersion?: string;
  graphDef?: Uint8Array;
  summary?: SummaryMessage;
  logMessage?: LogMessageMessage;
  sessionLog?: SessionLogMessage;
  taggedRunMetadata?: TaggedRunMetadata;
  metaGraphDef?: Uint8Array;
  sourceMetadata?: { writer: string };
}

const WHAT_FIELDS = [
  'fileVersion',
  'graphDef',
  'summary',
  'logMessage',
  'sessionLog',
  'taggedRunMetadata',
  'metaGraphDef',
] as const;

const VALUE_FIELDS = [
  'simpleValue',
  'obsoleteOldStyleHistogram',
  'image',
  'histo',
  'audio',
  'tensor',
] as const;

/** Serialises an Event. Throws when more than one member of a oneof is set. */
export function encodeEvent(event: EventMessage): Uint8Array {
  const set = WHAT_FIELDS.filter((k) => event[k] !== undefined);
  if (set.length > 1) throw new TypeError(`Event: only one of ${set.join(', ')} may be set`);
  event.summary?.value.forEach((v, i) => {
    const kinds = VALUE_FIELDS.filter((k) => v[k] !== undefined);
    if (kinds.length > 1) {
      throw new TypeError(
        `Event.summary.value[${i}] ('${v.tag}'): only one of ${kinds.join(', ')} may be set`,
      );
    }
  });
  return encodeMessage('Event', event as unknown as PlainMessage);
}

/** Parses a serialised Event. */
export function decodeEvent(bytes: Uint8Array): EventMessage {
  return decodeMessage('Event', bytes) as unknown as EventMessage;
}

/** Serialises a Summary on its own (e.g. for `Event.summary` built elsewhere). */
export function encodeSummary(summary: SummaryMessage): Uint8Array {
  return encodeMessage('Summary', summary as unknown as PlainMessage);
}

/** Parses a serialised Summary. */
export function decodeSummary(bytes: Uint8Array): SummaryMessage {
  return decodeMessage('Summary', bytes) as unknown as SummaryMessage;
}
