#!/usr/bin/env python3
"""Float64 reference of the `maskrcnn` reference case's backbone and FPN (not run in CI).

Usage:
  python scripts/maskrcnn_float64_backbone.py [--input input.npy] [--dtype float64|float32]
                                              [--ours OURS.npz]

An independent mirror of the case's ResNet-50 (depth multiplier 0.125, v0 stem, v1.5
bottlenecks with the stride on the 3x3 conv, BN epsilon 1e-3, ReLU) and FPN (1x1 laterals,
nearest 2x top-down sums, 3x3 post-hoc convs, 3x3/2 coarser levels 6 and 7 with a ReLU before 7,
a batch norm per output level), written with plain `tf.nn` ops from the facts of Model Garden's
resnet.py / fpn.py (no Model Garden code) and run in `--dtype` on the case's TF checkpoint
(../shared/data/model-garden-reference/maskrcnn/ckpt, read with `tf.train.load_checkpoint`).

It prints, per `backbone_features/<l>` and `decoder_features/<l>`, the max |diff| and relative
RMS difference of Model Garden's float32 outputs (`outputs.npz` / `outputs_b.npz`) and, with
`--ours`, of ours (an npz written by `vision-garden forward --output`, batch 1, on the same input)
to this mirror. In float64 it measures how far each float32 computation is from exact arithmetic;
in float32 it is a third float32 implementation to compare the other two with. This is how the
end-to-end tolerances of test/interop/maskrcnn_reference.test.ts were judged to be rounding.
A venv with `tensorflow-cpu` and numpy is all this needs.
"""
import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

CASE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data",
    "model-garden-reference", "maskrcnn",
)
BACKBONE = "model/backbone/layer_with_weights-"
DECODER = "model/decoder/layer_with_weights-"
# The decoder's checkpoint slots (variables.json keras_name → layer_with_weights-k).
DECODER_SLOTS = {
    "lateral_5": 0, "lateral_4": 1, "post_hoc_5": 2, "lateral_3": 3, "coarser_6": 4,
    "post_hoc_3": 5, "post_hoc_4": 6, "coarser_7": 7,
    "norm_3": 8, "norm_4": 9, "norm_5": 10, "norm_6": 11, "norm_7": 12,
}


def mirror(reader, images, dtype):
    def var(name):
        return tf.constant(reader.get_tensor(name + "/.ATTRIBUTES/VARIABLE_VALUE"), dtype)

    def conv(x, kernel, stride=1, bias=None):
        y = tf.nn.conv2d(x, kernel, stride, "SAME")
        return y if bias is None else y + bias

    def bn(x, prefix):
        scale = var(prefix + "/gamma") / tf.sqrt(var(prefix + "/moving_variance") + 1e-3)
        return (x - var(prefix + "/moving_mean")) * scale + var(prefix + "/beta")

    x = tf.constant(images, dtype)
    x = tf.nn.relu(bn(conv(x, var(BACKBONE + "0/kernel"), 2), BACKBONE + "1"))
    x = tf.nn.max_pool2d(x, 3, 2, "SAME")
    out = {}
    slot = 2
    for level, (blocks, stride) in enumerate(zip([3, 4, 6, 3], [1, 2, 2, 2]), start=2):
        for j in range(blocks):
            p = f"{BACKBONE}{slot}/"
            s = stride if j == 0 else 1
            shortcut = bn(conv(x, var(p + "_shortcut/kernel"), s), p + "_norm0") if j == 0 else x
            y = tf.nn.relu(bn(conv(x, var(p + "_conv1/kernel")), p + "_norm1"))
            y = tf.nn.relu(bn(conv(y, var(p + "_conv2/kernel"), s), p + "_norm2"))
            y = bn(conv(y, var(p + "_conv3/kernel")), p + "_norm3")
            x = tf.nn.relu(y + shortcut)
            slot += 1
        out[f"backbone_features/{level}"] = x

    def dconv(name, x, stride=1):
        k = DECODER_SLOTS[name]
        return conv(x, var(f"{DECODER}{k}/kernel"), stride, var(f"{DECODER}{k}/bias"))

    feats = {}
    for level in [5, 4, 3]:
        feats[level] = dconv(f"lateral_{level}", out[f"backbone_features/{level}"])
        if level < 5:
            up = tf.repeat(tf.repeat(feats[level + 1], 2, axis=1), 2, axis=2)
            feats[level] = feats[level] + up
    for level in [3, 4, 5]:
        feats[level] = dconv(f"post_hoc_{level}", feats[level])
    feats[6] = dconv("coarser_6", feats[5], 2)
    feats[7] = dconv("coarser_7", tf.nn.relu(feats[6]), 2)
    for level in range(3, 8):
        norm = f"{DECODER}{DECODER_SLOTS[f'norm_{level}']}"
        out[f"decoder_features/{level}"] = bn(feats[level], norm)
    return {k: v.numpy().astype(np.float64) for k, v in out.items()}


def diff(a, ref):
    d = a.astype(np.float64) - ref
    return f"max {np.abs(d).max():.2e} rel {np.sqrt((d ** 2).sum() / (ref ** 2).sum()):.2e}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", default="input.npy", choices=["input.npy", "input_b.npy"])
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--ours", help="npz from `vision-garden forward --output` on the same input")
    ap.add_argument("--case", default=CASE, help="the maskrcnn case folder")
    args = ap.parse_args()
    reader = tf.train.load_checkpoint(os.path.join(args.case, "ckpt"))
    images = np.load(os.path.join(args.case, args.input))
    ref = mirror(reader, images, tf.float64 if args.dtype == "float64" else tf.float32)
    mg = np.load(os.path.join(args.case, "outputs.npz" if args.input == "input.npy" else "outputs_b.npz"))
    ours = np.load(args.ours) if args.ours else None
    for key, value in ref.items():
        line = f"{key}: MG - mirror {diff(mg[key], value)}"
        if ours is not None:
            line += f" | ours - mirror {diff(ours[key], value)} | ours - MG {diff(ours[key], mg[key].astype(np.float64))}"
        print(line)


if __name__ == "__main__":
    main()
