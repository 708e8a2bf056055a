"""PyTorch CPU peer of bench/engine/run.ts: times one benchmark row.

Run it with any interpreter that has torch (Debian's 1.13 at /usr/bin/python3, pip's 2.13 in a
venv). The models are defined here, on torch.nn alone, because torchvision's wheel (its C++ ops)
may not load with a newer torch; their layouts follow torchvision's (same parameter counts) and
match the models bench/engine/models.ts builds with the library's layers.

Rows (torch.set_num_threads(--threads); training = SGD momentum 0.9 + softmax cross-entropy):
  cifar_resnet18_train  ResNet-18 with a 3x3/1 stem and no max-pool, 10 classes, 32x32x3
  resnet50_train        ResNet-50, 1000 classes, 224x224x3
  resnet50_os16_train   ResNet-50 with output stride 16 (the last group stride 1, dilation 2)
  mbv2_stack_train      MobileNetV2 inverted-bottleneck stack (models.ts MBV2_STACK), 112x112x3
  conv3d_train          Conv3D + BN + relu blocks (models.ts CONV3D_BLOCKS), 8x56x56x3 clips
  resnet50_infer        ResNet-50 eval under no_grad
  vit_b16_infer         ViT-B/16 eval under no_grad (run it with OMP_WAIT_POLICY=PASSIVE)
  movinet_a0_stream_infer  causal MoViNet-A0 stream model (Model Garden's A0 spec, '3d_2plus1d'
                        convolutions run as 2-D ones, SE '2plus3d', hard-swish), one 172x172
                        frame per iteration with the stream states carried over, 600 classes
Rows on torchvision models (the same design as ours, not the same layers; n/a without
torchvision): retinanet_r50fpn_*, deeplabv3_r101_*, maskrcnn_r50fpn_infer / _train (Mask R-CNN
R50-FPN 640), r3d18_infer (r3d_18 on a 32x224x224 clip).
  sgemm                 torch.mm of two 2048x2048 float32 matrices (the same-run SGEMM peak)

Modes:
  --steps N   times N iterations after --warmup and prints one JSON line
              {"torch", "threads", "row", "batch", "params", "fwd_flop", "median_ms", "times_ms"}.
  --serve     builds the row, runs --warmup iterations, prints that JSON line without times
              ("ready"), then runs one iteration per "step" line read on stdin and answers each
              with its time in ms; "rss" answers the process's peak RSS so far in MiB; "quit"
              (or end of input) ends it. run.ts uses this mode to alternate the sides step by
              step.
fwd_flop counts the multiply-adds (x2) of the convolutions, linear layers and attention of one
forward pass (per-layer hooks); a training step is taken as 3x that.
Alone: /usr/bin/python3 bench/engine/peer.py --row resnet50_infer --batch 1 --steps 5
"""
import argparse
import json
import statistics
import sys
import time

import torch
from torch import nn


def conv_bn(cin, cout, k, stride=1, dilation=1, groups=1, act=nn.ReLU):
    pad = dilation * (k - 1) // 2
    layers = [
        nn.Conv2d(cin, cout, k, stride, pad, dilation=dilation, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if act is not None:
        layers.append(act(inplace=True))
    return nn.Sequential(*layers)


class Basic(nn.Module):
    expansion = 1

    def __init__(self, cin, filters, stride, dilation):
        super().__init__()
        self.body = nn.Sequential(
            conv_bn(cin, filters, 3, stride), conv_bn(filters, filters, 3, act=None)
        )
        self.short = conv_bn(cin, filters, 1, stride, act=None) if stride != 1 or cin != filters else None

    def forward(self, x):
        s = x if self.short is None else self.short(x)
        return torch.relu(self.body(x) + s)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, filters, stride, dilation):
        super().__init__()
        out = filters * 4
        self.body = nn.Sequential(
            conv_bn(cin, filters, 1),
            conv_bn(filters, filters, 3, stride, dilation),
            conv_bn(filters, out, 1, act=None),
        )
        self.short = conv_bn(cin, out, 1, stride, act=None) if stride != 1 or cin != out else None

    def forward(self, x):
        s = x if self.short is None else self.short(x)
        return torch.relu(self.body(x) + s)


class ResNet(nn.Module):
    """torchvision's ResNet layout; output_stride 16 makes the last group stride 1, dilation 2."""

    def __init__(self, block, repeats, classes, cifar=False, output_stride=32):
        super().__init__()
        if cifar:
            self.stem = conv_bn(3, 64, 3)
        else:
            self.stem = nn.Sequential(conv_bn(3, 64, 7, 2), nn.MaxPool2d(3, 2, 1))
        blocks, cin, stride_now, dilation = [], 64, 4, 1
        for g, (filters, n) in enumerate(zip((64, 128, 256, 512), repeats)):
            stride = 1 if g == 0 else 2
            if not cifar and stride > 1 and stride_now * stride > output_stride:
                dilation, stride = dilation * stride, 1
            stride_now *= stride
            for b in range(n):
                blocks.append(block(cin, filters, stride if b == 0 else 1, dilation))
                cin = filters * block.expansion
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        return self.fc(self.blocks(self.stem(x)).mean((2, 3)))


# (expansion t, filters c, repeats n, stride s): the same spec as models.ts MBV2_STACK.
MBV2_STACK = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1)]


class InvertedBottleneck(nn.Module):
    def __init__(self, cin, t, cout, stride):
        super().__init__()
        mid = cin * t
        layers = [] if t == 1 else [conv_bn(cin, mid, 1, act=nn.ReLU6)]
        layers += [conv_bn(mid, mid, 3, stride, groups=mid, act=nn.ReLU6), conv_bn(mid, cout, 1, act=None)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class MobileNetV2Stack(nn.Module):
    def __init__(self, classes):
        super().__init__()
        layers, cin = [conv_bn(3, 32, 3, 2, act=nn.ReLU6)], 32
        for t, c, n, s in MBV2_STACK:
            for b in range(n):
                layers.append(InvertedBottleneck(cin, t, c, s if b == 0 else 1))
                cin = c
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        return self.fc(self.body(x).mean((2, 3)))


# (filters, stride (t, h, w)): the same spec as models.ts CONV3D_BLOCKS; 3x3x3 kernels.
CONV3D_BLOCKS = [(32, (1, 2, 2)), (64, (2, 2, 2)), (64, (1, 1, 1)), (128, (2, 2, 2)), (128, (1, 1, 1))]


class Conv3dNet(nn.Module):
    def __init__(self, classes):
        super().__init__()
        layers, cin = [], 3
        for filters, stride in CONV3D_BLOCKS:
            layers += [nn.Conv3d(cin, filters, 3, stride, 1, bias=False), nn.BatchNorm3d(filters), nn.ReLU(inplace=True)]
            cin = filters
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        return self.fc(self.body(x).mean((2, 3, 4)))


class EncoderBlock(nn.Module):
    def __init__(self, d=768, heads=12, mlp=3072):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d, eps=1e-6), nn.LayerNorm(d, eps=1e-6)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(d, mlp), nn.GELU(), nn.Linear(mlp, d))

    def forward(self, x):
        y = self.ln1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


class ViTB16(nn.Module):
    """torchvision's vit_b_16 layout: 16x16 patch conv, class token, 12 pre-norm blocks."""

    def __init__(self, classes, size=224, d=768):
        super().__init__()
        self.patch = nn.Conv2d(3, d, 16, 16)
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.pos = nn.Parameter(torch.randn(1, (size // 16) ** 2 + 1, d) * 0.02)
        self.blocks = nn.Sequential(*[EncoderBlock(d) for _ in range(12)])
        self.ln = nn.LayerNorm(d, eps=1e-6)
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        return self.head(self.ln(self.blocks(x))[:, 0])


ROWS = {
    "cifar_resnet18_train": (lambda: ResNet(Basic, (2, 2, 2, 2), 10, cifar=True), (3, 32, 32), 10, True),
    "resnet50_train": (lambda: ResNet(Bottleneck, (3, 4, 6, 3), 1000), (3, 224, 224), 1000, True),
    "resnet50_os16_train": (
        lambda: ResNet(Bottleneck, (3, 4, 6, 3), 1000, output_stride=16),
        (3, 224, 224),
        1000,
        True,
    ),
    "mbv2_stack_train": (lambda: MobileNetV2Stack(10), (3, 112, 112), 10, True),
    "conv3d_train": (lambda: Conv3dNet(10), (3, 8, 56, 56), 10, True),
    "resnet50_infer": (lambda: ResNet(Bottleneck, (3, 4, 6, 3), 1000), (3, 224, 224), 1000, False),
    "vit_b16_infer": (lambda: ViTB16(1000), (3, 224, 224), 1000, False),
}


def forward_flop(model, x):
    """Multiply-adds x2 of one forward pass: convolutions, linear layers, attention."""
    total = [0]

    def conv(m, inp, out):
        total[0] += 2 * out.numel() * (m.in_channels // m.groups) * m.weight[0, 0].numel()

    def linear(m, inp, out):
        total[0] += 2 * out.numel() * m.in_features

    def attention(m, inp, out):
        b, n, d = inp[0].shape
        # q, k, v and output projections (4 d^2 per token), then QK^T and attention x V.
        total[0] += 2 * b * n * 4 * d * d + 2 * 2 * b * n * n * d

    hooks = []
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d)):
            hooks.append(m.register_forward_hook(conv))
        elif isinstance(m, nn.Linear) and not isinstance(m, nn.modules.linear.NonDynamicallyQuantizableLinear):
            hooks.append(m.register_forward_hook(linear))
        elif isinstance(m, nn.MultiheadAttention):
            hooks.append(m.register_forward_hook(attention))
    with torch.no_grad():
        model(*x) if isinstance(x, tuple) else model(x)
    for h in hooks:
        h.remove()
    return total[0]


def retinanet_row(batch, training):
    """torchvision's RetinaNet R50-FPN at 640 (91 classes), random weights, no pretrained backbone."""
    import torchvision_ops  # noqa: F401  (before torchvision's detection models)
    from torchvision.models.detection import retinanet_resnet50_fpn

    model = retinanet_resnet50_fpn(
        weights=None, weights_backbone=None, num_classes=91, min_size=640, max_size=640
    )
    images = [torch.randn(3, 640, 640) for _ in range(batch)]
    params = sum(t.numel() for t in model.parameters() if t.requires_grad)
    flop = forward_flop(model.eval(), images)
    if not training:

        def once():
            with torch.no_grad():
                return model(images)

        return once, params, flop
    gen = torch.Generator().manual_seed(7)
    targets = []
    for _ in range(batch):
        # A few COCO-like boxes per image: [x1, y1, x2, y2] in pixels, classes 1..90.
        n = 8
        xy = torch.rand(n, 2, generator=gen) * 480
        wh = 32 + torch.rand(n, 2, generator=gen) * 128
        targets.append(
            {
                "boxes": torch.cat([xy, xy + wh], dim=1),
                "labels": torch.randint(1, 91, (n,), generator=gen),
            }
        )
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def once():
        opt.zero_grad(set_to_none=True)
        losses = model(images, targets)
        loss = sum(losses.values())
        loss.backward()
        opt.step()
        return loss.item()

    return once, params, flop


def deeplab_row(batch, training):
    """torchvision's DeepLabV3 on ResNet-101 at output stride 16 (the last stage dilated, as
    Model Garden's seg_deeplabv3_pascal; torchvision's deeplabv3_resnet101 builder fixes stride 8),
    ASPP rates 12/24/36, 21 classes, no auxiliary head, at 512x512."""
    import torchvision_ops  # noqa: F401
    from torchvision.models import resnet101
    from torchvision.models._utils import IntermediateLayerGetter
    from torchvision.models.segmentation.deeplabv3 import DeepLabHead, DeepLabV3

    backbone = IntermediateLayerGetter(
        resnet101(weights=None, replace_stride_with_dilation=[False, False, True]),
        return_layers={"layer4": "out"},
    )
    # DeepLabHead's ASPP rates default to (12, 24, 36) in torchvision 0.14 and 0.29 alike (0.14
    # has no atrous_rates argument).
    model = DeepLabV3(backbone, DeepLabHead(2048, 21))
    x = torch.randn(batch, 3, 512, 512)
    params = sum(t.numel() for t in model.parameters())
    flop = forward_flop(model.eval(), x)
    if not training:

        def once():
            with torch.no_grad():
                return model(x)["out"]

        return once, params, flop
    labels = torch.randint(0, 21, (batch, 512, 512), generator=torch.Generator().manual_seed(4))
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def once():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x)["out"], labels)
        loss.backward()
        opt.step()
        return loss.item()

    return once, params, flop


def _maskrcnn_paste_skipped():
    """torchvision's Mask R-CNN pastes each 28x28 mask into the full image in its postprocess;
    Model Garden's inference graph (ours) outputs the 28x28 masks and pastes at evaluation, on
    the host. The peer returns its 28x28 masks too, so both sides do the same network work."""
    import torchvision.models.detection.transform as transform

    transform.paste_masks_in_image = lambda masks, boxes, img_shape, padding=1: masks


def maskrcnn_row(batch, training):
    """torchvision's Mask R-CNN R50-FPN at 640 (91 classes), random weights. box_score_thresh 0
    keeps 100 detections per image (random weights score every class ~1/91, under the default
    0.05, which would skip the mask head): our static graph always runs it on 100 detections."""
    import torchvision_ops  # noqa: F401
    from torchvision.models.detection import maskrcnn_resnet50_fpn

    _maskrcnn_paste_skipped()
    model = maskrcnn_resnet50_fpn(
        weights=None, weights_backbone=None, num_classes=91, min_size=640, max_size=640,
        box_score_thresh=0.0,
    )
    images = [torch.randn(3, 640, 640) for _ in range(batch)]
    params = sum(t.numel() for t in model.parameters() if t.requires_grad)
    flop = forward_flop(model.eval(), images)
    if not training:

        def once():
            with torch.no_grad():
                return model(images)

        return once, params, flop
    gen = torch.Generator().manual_seed(7)
    targets = []
    for _ in range(batch):
        # 8 COCO-like instances per image: boxes [x1, y1, x2, y2] in pixels, classes 1..90, and
        # each mask the ellipse inscribed in its box.
        n = 8
        xy = torch.rand(n, 2, generator=gen) * 480
        wh = 32 + torch.rand(n, 2, generator=gen) * 128
        boxes = torch.cat([xy, xy + wh], dim=1)
        yy, xx = torch.meshgrid(torch.arange(640.0), torch.arange(640.0), indexing="ij")
        cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
        rx, ry = wh[:, 0] / 2, wh[:, 1] / 2
        masks = (((xx[None] - cx[:, None, None]) / rx[:, None, None]) ** 2
                 + ((yy[None] - cy[:, None, None]) / ry[:, None, None]) ** 2) <= 1
        targets.append(
            {"boxes": boxes, "labels": torch.randint(1, 91, (n,), generator=gen),
             "masks": masks.to(torch.uint8)}
        )
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def once():
        opt.zero_grad(set_to_none=True)
        losses = model(images, targets)
        loss = sum(losses.values())
        loss.backward()
        opt.step()
        return loss.item()

    return once, params, flop


def r3d18_row(batch, clip):
    """torchvision's r3d_18 (400 classes, random weights) on a [T, H, W] clip: a ResNet-18-style
    3-D network (3x3x3 convolutions throughout, basic blocks) — shallower than Model Garden's
    R3D-50 (bottlenecks, 50 layers); the benchmark compares throughput on the same clip and
    each side's GFLOP/s."""
    import torchvision_ops  # noqa: F401
    from torchvision.models.video import r3d_18

    model = r3d_18(weights=None, num_classes=400).eval()
    x = torch.randn(batch, 3, *clip)
    params = sum(t.numel() for t in model.parameters())
    flop = forward_flop(model, x)

    def once():
        with torch.no_grad():
            return model(x)

    return once, params, flop


# MoViNet-A0 (official/projects/movinet/modeling/movinet.py BLOCK_SPECS['a0']): stem 8 filters
# (1,3,3)/(1,2,2); per block (out filters, expand filters, kernels (kt, k), first stride 2?);
# head 480, classifier 2048.
MOVINET_A0 = [
    (8, [24], [(1, 5)], True),
    (32, [80, 80, 80], [(3, 3)] * 3, True),
    (56, [184, 112, 184], [(5, 3), (3, 3), (3, 3)], True),
    (56, [184, 184, 184, 184], [(5, 3), (3, 3), (3, 3), (3, 3)], False),
    (104, [384, 280, 280, 344], [(5, 3), (1, 5), (1, 5), (1, 5)], True),
]


def _make_divisible(v, divisor=8):
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


class StreamConv(nn.Module):
    """MoViNet's causal ConvBlock, split (2+1)-D as conv type '3d_2plus1d': a (1,k,k) conv + BN +
    act, then (kt > 1) a (kt,1,1) conv + BN + act whose input is prefixed by a stream buffer of
    the previous kt-1 frames (zeros at the start: causal padding). Both run as Conv2d on frames
    ([B*T, C, H, W], then [B, C, T, H*W] with a (kt, 1) kernel), as Model Garden's '2plus1d'
    does: the same arithmetic, and PyTorch's CPU depthwise Conv3d is a slow generic path (about
    4 s per 172x172 frame here) where its depthwise Conv2d is a fast kernel. Spatial padding is
    symmetric (k // 2): TF SAME's output sizes at 172x172, not its border alignment."""

    def __init__(self, cin, cout, kt, k, stride=1, depthwise=False, act=True):
        super().__init__()
        groups = cin if depthwise else 1
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm3d(cout, eps=1e-3)
        self.kt = kt
        if kt > 1:
            self.conv_t = nn.Conv2d(cout, cout, (kt, 1), groups=cout if depthwise else 1, bias=False)
            self.bn_t = nn.BatchNorm3d(cout, eps=1e-3)
        self.act = nn.Hardswish() if act else nn.Identity()

    def forward(self, x, state, key):
        b, c, t, h, w = x.shape
        y = self.conv(x.transpose(1, 2).reshape(b * t, c, h, w))
        y = y.reshape(b, t, *y.shape[1:]).transpose(1, 2)
        x = self.act(self.bn(y))
        if self.kt == 1:
            return x
        buf = state.get(key)
        if buf is None:
            buf = x.new_zeros(x.shape[0], x.shape[1], self.kt - 1, *x.shape[3:])
        full = torch.cat([buf, x], 2)
        state[key] = full[:, :, -(self.kt - 1):]
        b, c, t, h, w = full.shape
        y = self.conv_t(full.reshape(b, c, t, h * w)).reshape(b, c, -1, h, w)
        return self.act(self.bn_t(y))


def _pointwise(cin, cout, act=True, bias=False, bn=True):
    layers = [nn.Conv3d(cin, cout, 1, bias=bias)]
    if bn:
        layers.append(nn.BatchNorm3d(cout, eps=1e-3))
    if act:
        layers.append(nn.Hardswish())
    return nn.Sequential(*layers)


class StreamBlock(nn.Module):
    """MovinetBlock (causal): 1x1x1 expansion, depthwise stream conv, SE '2plus3d' (per-frame
    spatial mean concatenated with its running mean over all frames so far, kept as state),
    1x1x1 projection, ReZero scalar, plus the (pooled, projected) input."""

    def __init__(self, cin, cout, expand, kt, k, stride):
        super().__init__()
        self.expand = _pointwise(cin, expand)
        self.feature = StreamConv(expand, expand, kt, k, stride, depthwise=True)
        hidden = _make_divisible(0.25 * expand * 2)
        self.se_reduce = _pointwise(2 * expand, hidden, bias=True, bn=False)
        self.se_expand = nn.Sequential(nn.Conv3d(hidden, expand, 1), nn.Hardsigmoid())
        self.project = _pointwise(expand, cout, act=False)
        self.rezero = nn.Parameter(torch.zeros(()))
        self.skip = None
        if cin != cout or stride > 1:
            pool = [nn.AvgPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1), count_include_pad=False)] if stride > 1 else []
            self.skip = nn.Sequential(*pool, _pointwise(cin, cout, act=False))

    def forward(self, x, state, key):
        y = self.feature(self.expand(x), state, key + "/buffer")
        space = y.mean((3, 4), keepdim=True)
        t = space.shape[2]
        total = state.get(key + "/sum", 0) + torch.cumsum(space, 2)
        count = state.get(key + "/count", 0) + torch.arange(1, t + 1, dtype=y.dtype).view(1, 1, t, 1, 1)
        state[key + "/sum"] = total[:, :, -1:]
        state[key + "/count"] = count[:, :, -1:]
        gate = self.se_expand(self.se_reduce(torch.cat([total / count, space], 1)))
        y = self.project(y * gate) * self.rezero
        return y + (x if self.skip is None else self.skip(x))


class MovinetA0Stream(nn.Module):
    """Causal MoViNet-A0 stream model as Model Garden's movinet_a0_stream (conv type
    '3d_2plus1d', SE '2plus3d', hard-swish, hard-sigmoid gating): called on a few frames with a
    state dict it updates (stream buffers, SE running sums, the head's running pool), it returns
    the logits of the stream so far."""

    def __init__(self, classes):
        super().__init__()
        self.stem = StreamConv(3, 8, 1, 3, 2)
        blocks, cin = [], 8
        for cout, expands, kernels, down in MOVINET_A0:
            for i, (e, (kt, k)) in enumerate(zip(expands, kernels)):
                blocks.append(StreamBlock(cin, cout, e, kt, k, 2 if down and i == 0 else 1))
                cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.head = _pointwise(cin, 480)
        self.classifier = nn.Sequential(
            nn.Conv3d(480, 2048, 1), nn.Hardswish(), nn.Dropout(0.2), nn.Conv3d(2048, classes, 1)
        )

    def forward(self, x, state):
        x = self.stem(x, state, "stem")
        for i, b in enumerate(self.blocks):
            x = b(x, state, f"b{i}")
        x = self.head(x)
        total = state.get("head/sum", 0) + x.mean((3, 4), keepdim=True).sum(2, keepdim=True)
        count = state.get("head/count", 0) + x.shape[2]
        state["head/sum"], state["head/count"] = total, count
        return self.classifier(total / count).flatten(1)


def movinet_stream_row(batch, frames, size=172):
    """One streaming step of MoViNet-A0 on `frames` new frames of [size, size] (states carried
    over between steps), 600 classes, random weights."""
    model = MovinetA0Stream(600).eval()
    for m in model.modules():
        if isinstance(m, StreamBlock):
            nn.init.constant_(m.rezero, 0.5)  # non-zero, so every block's branch is live
    x = torch.randn(batch, 3, frames, size, size)
    params = sum(t.numel() for t in model.parameters())
    state = {}
    flop = forward_flop(model, (x, {}))

    def once():
        with torch.no_grad():
            return model(x, state)

    return once, params, flop


DETECTION_ROWS = {
    "maskrcnn_r50fpn_infer": lambda batch: maskrcnn_row(batch, False),
    "maskrcnn_r50fpn_train": lambda batch: maskrcnn_row(batch, True),
    "r3d18_infer": lambda batch: r3d18_row(batch, (32, 224, 224)),

    "deeplabv3_r101_infer": lambda batch: deeplab_row(batch, False),
    "deeplabv3_r101_train": lambda batch: deeplab_row(batch, True),
    "retinanet_r50fpn_infer": lambda batch: retinanet_row(batch, False),
    "retinanet_r50fpn_train": lambda batch: retinanet_row(batch, True),
}


SAME_DESIGN_ROWS = {
    "movinet_a0_stream_infer": lambda batch: movinet_stream_row(batch, 1),
}


def build_row(row, batch):
    """Returns (one iteration, params, forward FLOPs)."""
    if row in SAME_DESIGN_ROWS:
        return SAME_DESIGN_ROWS[row](batch)
    if row in DETECTION_ROWS:
        return DETECTION_ROWS[row](batch)
    if row == "sgemm":
        a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
        return (lambda: torch.mm(a, b)), 0, 2 * 2048**3
    build, shape, classes, training = ROWS[row]
    model = build()
    x = torch.randn(batch, *shape)
    params = sum(t.numel() for t in model.parameters())
    flop = forward_flop(model.eval(), x)
    if training:
        model.train()
        labels = torch.randint(0, classes, (batch,))
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()

        def once():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), labels)
            loss.backward()
            opt.step()
            return loss.item()

    else:

        def once():
            with torch.no_grad():
                return model(x)

    return once, params, flop


def peak_rss_mib():
    """This process's peak resident set size so far (getrusage ru_maxrss, KiB on Linux)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--row", choices=sorted([*ROWS, *DETECTION_ROWS, *SAME_DESIGN_ROWS, "sgemm"]), required=True)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--serve", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    unavailable = None
    if a.row in DETECTION_ROWS:
        import importlib.util

        # Checked before torchvision_ops declares its op schemas (which torch 1.13 cannot parse).
        if importlib.util.find_spec("torchvision") is None:
            unavailable = f"no torchvision for torch {torch.__version__}"
    if unavailable:
        # This interpreter cannot build the row: it says so, and answers every step with nan.
        print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                          "row": a.row, "batch": a.batch, "params": 0, "fwd_flop": 0,
                          "same_model": False, "unavailable": unavailable}), flush=True)
        for line in sys.stdin:
            if line.strip() == "quit":
                break
            print("nan", flush=True)  # a step's time or the peak RSS: not measured
        return
    once, params, flop = build_row(a.row, a.batch)
    for _ in range(a.warmup):
        once()
    meta = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "row": a.row,
        "batch": a.batch,
        "params": params,
        "fwd_flop": flop,
        "same_model": a.row not in DETECTION_ROWS,
    }
    if a.row in DETECTION_ROWS:
        import torchvision_ops

        meta["torchvision_kernels"] = torchvision_ops.KERNELS

    def timed():
        start = time.perf_counter()
        once()
        return (time.perf_counter() - start) * 1000

    if a.serve:
        print(json.dumps(meta), flush=True)
        for line in sys.stdin:
            if line.strip() == "quit":
                break
            if line.strip() == "rss":
                print(f"{peak_rss_mib():.1f}", flush=True)
                continue
            if line.strip() != "step":
                raise SystemExit(f"peer.py --serve: unknown command {line.strip()!r} (step | rss | quit)")
            print(f"{timed():.4f}", flush=True)
        return
    times = [timed() for _ in range(a.steps)]
    print(json.dumps({**meta, "median_ms": statistics.median(times), "times_ms": times}))


if __name__ == "__main__":
    main()
