#!/usr/bin/env python3
"""Reads a TF checkpoint with real TensorFlow and prints a JSON summary (not run in CI).

Usage: python scripts/check_tf_checkpoint.py PREFIX_OR_DIR [--restore]

- `tf.train.load_checkpoint` + `tf.train.list_variables`: every variable's name, shape and dtype;
  every tensor is read (`get_tensor`) and summarised by the sha256 of its little-endian bytes
  (strings: each element's 8-byte length, then its bytes) and its float64 sum.
- `--restore`: builds a tree of `tf.Module`s with zero-initialised `tf.Variable`s at the object
  paths of the `_CHECKPOINTABLE_OBJECT_GRAPH`, loads the checkpoint into it through
  `tf.train.Checkpoint(...).restore(...).assert_consumed()` (`read` when there is no
  save_counter) -- the object-graph walk TF2 uses to load a model -- and checks every restored
  value equals `get_tensor`.

`node scripts/tf_bundle_summary.mjs PREFIX_OR_DIR [--rewrite OUT]` prints the same summary from
our reader (after re-writing the checkpoint with our writer), for comparison. A venv with
`tensorflow-cpu` is all this needs.
"""
import argparse
import hashlib
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.core.protobuf import trackable_object_graph_pb2  # noqa: E402

GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


def digest(value):
    if isinstance(value, bytes):
        value = np.array([value], dtype=object)
    if value.dtype == object or value.dtype.kind in "SU":
        h = hashlib.sha256()
        for elem in np.asarray(value).reshape(-1):
            b = elem if isinstance(elem, bytes) else str(elem).encode()
            h.update(len(b).to_bytes(8, "little") + b)
        return h.hexdigest(), None
    arr = np.ascontiguousarray(value)
    raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    total = float(np.sum(arr.astype(np.float64))) if arr.dtype.kind in "fiub" else None
    return hashlib.sha256(raw).hexdigest(), total


def object_paths(graph):
    """Breadth-first first-found path of local names to each node (as TF names keys)."""
    paths = {0: []}
    queue = [0]
    while queue:
        node_id = queue.pop(0)
        for child in graph.nodes[node_id].children:
            if child.node_id not in paths:
                paths[child.node_id] = paths[node_id] + [child.local_name]
                queue.append(child.node_id)
    return paths


def restore_into_modules(prefix, reader, graph):
    paths = object_paths(graph)
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    roots = {}
    restored = {}
    for node_id, node in enumerate(graph.nodes):
        for attr in node.attributes:
            if attr.name != "VARIABLE_VALUE" or attr.checkpoint_key == "save_counter/.ATTRIBUTES/VARIABLE_VALUE":
                continue
            path = paths[node_id]
            parent = roots.setdefault(path[0], tf.Module()) if len(path) > 1 else None
            for name in path[1:-1]:
                if not hasattr(parent, name):
                    setattr(parent, name, tf.Module())
                parent = getattr(parent, name)
            var = tf.Variable(tf.zeros(shapes[attr.checkpoint_key], dtypes[attr.checkpoint_key]))
            if parent is None:
                roots[path[0]] = var
            else:
                setattr(parent, path[-1], var)
            restored[attr.checkpoint_key] = var
    ckpt = tf.train.Checkpoint(**roots)
    # restore (unlike read) also binds save_counter, so it needs one in the checkpoint
    # (Checkpoint.save writes it; Model Garden's Checkpoint.write does not).
    has_counter = reader.has_tensor("save_counter/.ATTRIBUTES/VARIABLE_VALUE")
    (ckpt.restore if has_counter else ckpt.read)(prefix).assert_consumed()
    mismatched = [k for k, v in restored.items() if not np.array_equal(v.numpy(), reader.get_tensor(k))]
    result = {"restored_variables": len(restored), "assert_consumed": "passed", "value_mismatches": mismatched}
    if has_counter:
        result["save_counter"] = int(ckpt.save_counter.numpy())
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prefix")
    ap.add_argument("--restore", action="store_true")
    args = ap.parse_args()
    prefix = args.prefix
    if os.path.isdir(prefix):
        prefix = tf.train.latest_checkpoint(prefix) or prefix
    reader = tf.train.load_checkpoint(prefix)
    dtypes = reader.get_variable_to_dtype_map()
    out = {"tensorflow": tf.__version__, "prefix": prefix, "variables": []}
    for name, shape in tf.train.list_variables(prefix):
        value = reader.get_tensor(name)
        sha, total = digest(value)
        out["variables"].append(
            {"name": name, "shape": list(shape), "dtype": dtypes[name].name, "sha256": sha, "sum": total}
        )
    if reader.has_tensor(GRAPH_KEY):
        graph = trackable_object_graph_pb2.TrackableObjectGraph()
        graph.ParseFromString(reader.get_tensor(GRAPH_KEY))
        out["object_graph_nodes"] = len(graph.nodes)
        if args.restore:
            out["restore"] = restore_into_modules(prefix, reader, graph)
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
