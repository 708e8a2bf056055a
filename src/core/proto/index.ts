/** TensorFlow protobuf messages (Example, SequenceExample, Event, Summary, TensorProto). */
export * from './int64.js';
export * from './example.js';
export * from './event.js';
export * from './tensor.js';
export { tfMessageType, tfProtoRoot } from './schema.js';
