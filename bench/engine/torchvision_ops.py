"""torchvision's detection models on a torch whose torchvision C++ ops do not load.

PyTorch 2.13 from the pip mirror comes with a torchvision (0.29.1) whose compiled ops
(`torchvision::nms`, `roi_align`, ...) fail to load, and torchvision's import then fails on their
missing schemas. `import torchvision_ops` (in place of `import torchvision`) imports torchvision
and, where that fails on the missing ops, declares their schemas with torch.library, registers
Python CPU kernels for the ones the peer rows call (NMS: the greedy loop of torchvision's C++
kernel, one iteration per kept box over a precomputed IoU matrix; RoIAlign with torchvision's
bilinear sampling, vectorised over the RoIs for a fixed sampling ratio as the detection models
use), and marks the ops as loaded. These Python kernels are slower
than the C++ ones: a handicap of the peer, which the benchmark README states.
"""
import sys

import torch

_SCHEMAS = [
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "roi_align(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, SymInt pooled_width, int sampling_ratio, bool aligned) -> Tensor",
    "qroi_align(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, SymInt pooled_width, int sampling_ratio, bool aligned) -> Tensor",
    "_roi_align_backward(Tensor grad, Tensor rois, float spatial_scale, SymInt pooled_height, SymInt pooled_width, SymInt batch_size, SymInt channels, SymInt height, SymInt width, int sampling_ratio, bool aligned) -> Tensor",
    "ps_roi_align(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, SymInt pooled_width, int sampling_ratio) -> (Tensor, Tensor)",
    "_ps_roi_align_backward(Tensor grad, Tensor rois, Tensor channel_mapping, float spatial_scale, SymInt pooled_height, SymInt pooled_width, int sampling_ratio, SymInt batch_size, SymInt channels, SymInt height, SymInt width) -> Tensor",
    "roi_pool(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, SymInt pooled_width) -> (Tensor, Tensor)",
    "_roi_pool_backward(Tensor grad, Tensor rois, Tensor argmax, float spatial_scale, SymInt pooled_height, SymInt pooled_width, SymInt batch_size, SymInt channels, SymInt height, SymInt width) -> Tensor",
    "ps_roi_pool(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, SymInt pooled_width) -> (Tensor, Tensor)",
    "_ps_roi_pool_backward(Tensor grad, Tensor rois, Tensor channel_mapping, float spatial_scale, SymInt pooled_height, SymInt pooled_width, SymInt batch_size, SymInt channels, SymInt height, SymInt width) -> Tensor",
    "deform_conv2d(Tensor input, Tensor weight, Tensor offset, Tensor mask, Tensor bias, SymInt stride_h, SymInt stride_w, SymInt pad_h, SymInt pad_w, SymInt dilation_h, SymInt dilation_w, SymInt groups, SymInt offset_groups, bool use_mask) -> Tensor",
    "_deform_conv2d_backward(Tensor grad, Tensor input, Tensor weight, Tensor offset, Tensor mask, Tensor bias, SymInt stride_h, SymInt stride_w, SymInt pad_h, SymInt pad_w, SymInt dilation_h, SymInt dilation_w, SymInt groups, SymInt offset_groups, bool use_mask) -> (Tensor, Tensor, Tensor, Tensor, Tensor)",
]


def _box_iou(a, b):
    area_a = (a[:, 2] - a[:, 0]).clamp(min=0) * (a[:, 3] - a[:, 1]).clamp(min=0)
    area_b = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=2)
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def _nms(dets, scores, iou_threshold):
    """Greedy NMS in descending score order (torchvision's C++ kernel's rule: IoU > threshold)."""
    if dets.numel() == 0:
        return torch.empty(0, dtype=torch.int64)
    order = scores.argsort(descending=True, stable=True)
    iou = _box_iou(dets[order], dets[order])
    alive = torch.ones(order.numel(), dtype=torch.bool)
    keep = []
    i = 0
    while i < order.numel():
        keep.append(i)
        alive &= iou[i] <= iou_threshold
        alive[: i + 1] = False
        nxt = torch.nonzero(alive)
        if nxt.numel() == 0:
            break
        i = int(nxt[0])
    return order[torch.tensor(keep, dtype=torch.int64)]


def _bilinear(feat, y, x):
    """feat [C, H, W]; y, x [N] sample points (torchvision's roi_align rules at the borders)."""
    _, h, w = feat.shape
    valid = (y >= -1.0) & (y <= h) & (x >= -1.0) & (x <= w)
    y = y.clamp(min=0)
    x = x.clamp(min=0)
    y0 = y.floor().long().clamp(max=h - 1)
    x0 = x.floor().long().clamp(max=w - 1)
    y1 = (y0 + 1).clamp(max=h - 1)
    x1 = (x0 + 1).clamp(max=w - 1)
    y = torch.where(y0 >= h - 1, y0.to(y.dtype), y)
    x = torch.where(x0 >= w - 1, x0.to(x.dtype), x)
    ly, lx = y - y0, x - x0
    hy, hx = 1 - ly, 1 - lx
    v = (
        feat[:, y0, x0] * (hy * hx) + feat[:, y0, x1] * (hy * lx)
        + feat[:, y1, x0] * (ly * hx) + feat[:, y1, x1] * (ly * lx)
    )
    return v * valid


def _roi_align_fixed(inp, rois, spatial_scale, ph, pw, sr, aligned, chunk=256):
    """_roi_align for a fixed sampling ratio sr > 0 (what torchvision's MultiScaleRoIAlign uses),
    vectorised over the RoIs (chunks of `chunk`): the same sample points and weights as the loop
    below, gathered from the feature map in one indexing per corner."""
    n, c, h, w = inp.shape
    offset = 0.5 if aligned else 0.0
    flat = inp.permute(0, 2, 3, 1).reshape(n * h * w, c)
    iy = (torch.arange(ph * sr, dtype=inp.dtype) + 0.5) / sr
    ix = (torch.arange(pw * sr, dtype=inp.dtype) + 0.5) / sr
    out = []
    for r in rois.split(chunk):
        x1, y1 = r[:, 1] * spatial_scale - offset, r[:, 2] * spatial_scale - offset
        rh = r[:, 4] * spatial_scale - offset - y1
        rw = r[:, 3] * spatial_scale - offset - x1
        if not aligned:
            rh, rw = rh.clamp(min=1.0), rw.clamp(min=1.0)
        k = r.shape[0]
        y = (y1[:, None] + iy[None] * (rh / ph)[:, None])[:, :, None].expand(k, ph * sr, pw * sr)
        x = (x1[:, None] + ix[None] * (rw / pw)[:, None])[:, None, :].expand(k, ph * sr, pw * sr)
        valid = (y >= -1.0) & (y <= h) & (x >= -1.0) & (x <= w)
        y, x = y.clamp(min=0), x.clamp(min=0)
        y0 = y.floor().long().clamp(max=h - 1)
        x0 = x.floor().long().clamp(max=w - 1)
        y1i, x1i = (y0 + 1).clamp(max=h - 1), (x0 + 1).clamp(max=w - 1)
        y = torch.where(y0 >= h - 1, y0.to(y.dtype), y)
        x = torch.where(x0 >= w - 1, x0.to(x.dtype), x)
        ly, lx = y - y0, x - x0
        hy, hx = 1 - ly, 1 - lx
        base = r[:, 0].long()[:, None, None] * (h * w)

        def at(yy, xx):
            return flat[(base + yy * w + xx).reshape(-1)].reshape(k, ph * sr, pw * sr, c)

        v = (
            at(y0, x0) * (hy * hx)[..., None] + at(y0, x1i) * (hy * lx)[..., None]
            + at(y1i, x0) * (ly * hx)[..., None] + at(y1i, x1i) * (ly * lx)[..., None]
        ) * valid[..., None]
        out.append(v.reshape(k, ph, sr, pw, sr, c).mean(dim=(2, 4)).permute(0, 3, 1, 2))
    if not out:
        return inp.new_zeros((0, c, ph, pw))
    return torch.cat(out)


def _roi_align(inp, rois, spatial_scale, ph, pw, sampling_ratio, aligned):
    """torchvision.ops.roi_align in torch ops (differentiable through autograd)."""
    if sampling_ratio > 0:
        return _roi_align_fixed(inp, rois, spatial_scale, ph, pw, sampling_ratio, aligned)
    out = []
    offset = 0.5 if aligned else 0.0
    for r in rois:
        b = int(r[0])
        y1, x1 = r[2] * spatial_scale - offset, r[1] * spatial_scale - offset
        y2, x2 = r[4] * spatial_scale - offset, r[3] * spatial_scale - offset
        rh, rw = y2 - y1, x2 - x1
        if not aligned:
            rh, rw = rh.clamp(min=1.0), rw.clamp(min=1.0)
        gh = sampling_ratio if sampling_ratio > 0 else max(1, int(torch.ceil(rh / ph)))
        gw = sampling_ratio if sampling_ratio > 0 else max(1, int(torch.ceil(rw / pw)))
        iy = (torch.arange(ph * gh, dtype=inp.dtype) + 0.5) / gh
        ix = (torch.arange(pw * gw, dtype=inp.dtype) + 0.5) / gw
        ys = y1 + iy * rh / ph
        xs = x1 + ix * rw / pw
        yy, xx = torch.meshgrid(ys, xs, indexing="ij")
        v = _bilinear(inp[b], yy.reshape(-1), xx.reshape(-1)).reshape(-1, ph, gh, pw, gw)
        out.append(v.mean(dim=(2, 4)))
    if not out:
        return inp.new_zeros((0, inp.shape[1], ph, pw))
    return torch.stack(out)


def _python_ops():
    """Declares torchvision's op schemas with the Python kernels above, then imports torchvision."""
    global _lib
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]  # the failed import's partial modules
    _lib = torch.library.Library("torchvision", "DEF")
    for schema in _SCHEMAS:
        _lib.define(schema)
    _lib.impl("nms", _nms, "CPU")
    _lib.impl("roi_align", _roi_align, "CompositeImplicitAutograd")
    import torchvision.extension

    torchvision.extension._has_ops = lambda: True
    # torchvision 0.29's roi_align binds _has_ops at import and, without the C++ ops, runs its own
    # pure-PyTorch RoIAlign under torch.compile: inductor then builds C++ with the system compiler
    # inside the peer's first steps (minutes on this machine, and again as RoI counts change).
    # The registered kernel above stands in instead, as for NMS.
    # (The module from sys.modules: `torchvision.ops.roi_align` is also the name of the function.)
    sys.modules["torchvision.ops.roi_align"]._has_ops = torchvision.extension._has_ops


# "native" where torchvision's compiled ops load (e.g. Debian's torchvision with its torch 1.13),
# "python" where this module's kernels stand in for them.
try:
    import torchvision  # noqa: F401

    KERNELS = "native"
except (RuntimeError, ImportError):
    _python_ops()
    KERNELS = "python"
