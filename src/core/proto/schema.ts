/**
 * TensorFlow protobuf messages, wire-compatible with TensorFlow's own definitions:
 *   tensorflow/core/example/feature.proto, example.proto      (Example, SequenceExample, ...)
 *   tensorflow/core/framework/types.proto, tensor_shape.proto, tensor.proto   (TensorProto)
 *   tensorflow/core/framework/summary.proto                  (Summary, SummaryMetadata, ...)
 *   tensorflow/core/util/event.proto                         (Event, SourceMetadata, ...)
 * Field numbers and types follow those files; only the subset vision-garden reads or writes is
 * declared (unknown fields are skipped on decode).
 *
 * One deliberate difference: `map<string, Feature>` / `map<string, FeatureList>` are declared as
 * `repeated <Entry> { string key = 1; V value = 2; }`. The protobuf spec defines a map field as
 * exactly that on the wire, so the bytes are identical, but it lets us control the entry order
 * (TF's deterministic serialisation sorts keys bytewise) and allows any key string.
 */
import protobuf from 'protobufjs';

const TF_PROTO_TEXT = `
syntax = "proto3";
package tensorflow;

// ---- feature.proto / example.proto ----
message BytesList { repeated bytes value = 1; }
message FloatList { repeated float value = 1 [packed = true]; }
message Int64List { repeated int64 value = 1 [packed = true]; }
message Feature {
  oneof kind {
    BytesList bytes_list = 1;
    FloatList float_list = 2;
    Int64List int64_list = 3;
  }
}
message FeatureEntry { string key = 1; Feature value = 2; }
message Features { repeated FeatureEntry feature = 1; }
message FeatureList { repeated Feature feature = 1; }
message FeatureListEntry { string key = 1; FeatureList value = 2; }
message FeatureLists { repeated FeatureListEntry feature_list = 1; }
message Example { Features features = 1; }
message SequenceExample {
  Features context = 1;
  FeatureLists feature_lists = 2;
}

// ---- types.proto (DataType), tensor_shape.proto, tensor.proto ----
enum DataType {
  DT_INVALID = 0;
  DT_FLOAT = 1;
  DT_DOUBLE = 2;
  DT_INT32 = 3;
  DT_UINT8 = 4;
  DT_INT16 = 5;
  DT_INT8 = 6;
  DT_STRING = 7;
  DT_COMPLEX64 = 8;
  DT_INT64 = 9;
  DT_BOOL = 10;
  DT_QINT8 = 11;
  DT_QUINT8 = 12;
  DT_QINT32 = 13;
  DT_BFLOAT16 = 14;
  DT_QINT16 = 15;
  DT_QUINT16 = 16;
  DT_UINT16 = 17;
  DT_COMPLEX128 = 18;
  DT_HALF = 19;
  DT_RESOURCE = 20;
  DT_VARIANT = 21;
  DT_UINT32 = 22;
  DT_UINT64 = 23;
}
message TensorShapeProto {
  message Dim {
    int64 size = 1;
    string name = 2;
  }
  repeated Dim dim = 2;
  bool unknown_rank = 3;
}
message TensorProto {
  DataType dtype = 1;
  TensorShapeProto tensor_shape = 2;
  int32 version_number = 3;
  bytes tensor_content = 4;
  repeated int32 half_val = 13 [packed = true];
  repeated float float_val = 5 [packed = true];
  repeated double double_val = 6 [packed = true];
  repeated int32 int_val = 7 [packed = true];
  repeated bytes string_val = 8;
  repeated float scomplex_val = 9 [packed = true];
  repeated int64 int64_val = 10 [packed = true];
  repeated bool bool_val = 11 [packed = true];
  repeated double dcomplex_val = 12 [packed = true];
  repeated uint32 uint32_val = 16 [packed = true];
  repeated uint64 uint64_val = 17 [packed = true];
}

// ---- summary.proto ----
enum DataClass {
  DATA_CLASS_UNKNOWN = 0;
  DATA_CLASS_SCALAR = 1;
  DATA_CLASS_TENSOR = 2;
  DATA_CLASS_BLOB_SEQUENCE = 3;
}
message SummaryDescription { string type_hint = 1; }
message HistogramProto {
  double min = 1;
  double max = 2;
  double num = 3;
  double sum = 4;
  double sum_squares = 5;
  repeated double bucket_limit = 6 [packed = true];
  repeated double bucket = 7 [packed = true];
}
message SummaryMetadata {
  message PluginData {
    string plugin_name = 1;
    bytes content = 2;
  }
  PluginData plugin_data = 1;
  string display_name = 2;
  string summary_description = 3;
  DataClass data_class = 4;
}
message Summary {
  message Image {
    int32 height = 1;
    int32 width = 2;
    int32 colorspace = 3;
    bytes encoded_image_string = 4;
  }
  message Audio {
    float sample_rate = 1;
    int64 num_channels = 2;
    int64 length_frames = 3;
    bytes encoded_audio_string = 4;
    string content_type = 5;
  }
  message Value {
    string node_name = 7;
    string tag = 1;
    SummaryMetadata metadata = 9;
    oneof value {
      float simple_value = 2;
      bytes obsolete_old_style_histogram = 3;
      Image image = 4;
      HistogramProto histo = 5;
      Audio audio = 6;
      TensorProto tensor = 8;
    }
  }
  repeated Value value = 1;
}

// ---- event.proto ----
message LogMessage {
  enum Level {
    UNKNOWN = 0;
    DEBUGGING = 10;
    INFO = 20;
    WARN = 30;
    ERROR = 40;
    FATAL = 50;
  }
  Level level = 1;
  string message = 2;
}
message SessionLog {
  enum SessionStatus {
    STATUS_UNSPECIFIED = 0;
    START = 1;
    STOP = 2;
    CHECKPOINT = 3;
  }
  SessionStatus status = 1;
  string checkpoint_path = 2;
  string msg = 3;
}
message TaggedRunMetadata {
  string tag = 1;
  bytes run_metadata = 2;
}
message SourceMetadata { string writer = 1; }
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    bytes graph_def = 4;
    Summary summary = 5;
    LogMessage log_message = 6;
    SessionLog session_log = 7;
    TaggedRunMetadata tagged_run_metadata = 8;
    bytes meta_graph_def = 9;
  }
  SourceMetadata source_metadata = 10;
}
`;

/** The parsed root holding every `tensorflow.*` message above. */
export const tfProtoRoot: protobuf.Root = protobuf.parse(TF_PROTO_TEXT, { keepCase: false }).root;

/** Looks up a message type by its name inside package `tensorflow` (e.g. `Example`, `Summary.Value`). */
export function tfMessageType(name: string): protobuf.Type {
  return tfProtoRoot.lookupType(`tensorflow.${name}`);
}

/** Conversion options used by every decoder: 64-bit values as decimal strings, bytes as-is. */
export const DECODE_OPTIONS: protobuf.IConversionOptions = {
  longs: String,
  enums: Number,
  defaults: true,
  arrays: true,
  objects: true,
};
