/** TensorFlow checkpoints (TensorBundle) in and out. */
export {
  openTensorBundle,
  resolveBundlePrefix,
  shardPath,
  OBJECT_GRAPH_KEY,
  type BundleTensor,
  type BundleVariable,
  type TensorBundle,
  type TfDtype,
  type TrackableObjectGraph,
} from './bundle_reader.js';
export {
  readObjectVariables,
  writeCheckpointState,
  writeObjectCheckpoint,
  writeTensorBundle,
  type KeyedTensor,
  type ObjectVariable,
  type WriteCheckpointOptions,
  type WrittenCheckpoint,
} from './bundle_writer.js';
export {
  buildObjectGraph,
  checkpointKey,
  checkpointKeyPaths,
  escapeLocalName,
  objectNodePaths,
  VARIABLE_VALUE,
  type KeyPath,
} from './object_graph.js';
export type { TensorValuesArray } from './dtypes.js';
