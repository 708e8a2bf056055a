"""PyTorch CPU peer of bench/engine/run.ts: times one benchmark row and prints one JSON line.

Rows (torchvision models, torch.set_num_threads(--threads)):
  cifar_resnet18_train  resnet18(num_classes=10) with conv1 = 3x3/1 and maxpool = Identity,
                        SGD momentum 0.9 + softmax cross-entropy, 32x32x3
  resnet50_train        resnet50(), SGD momentum 0.9 + softmax cross-entropy, 224x224x3
  resnet50_infer        resnet50().eval() under no_grad
  vit_b16_infer         vit_b_16().eval() under no_grad (run it with OMP_WAIT_POLICY=PASSIVE)

Each iteration is timed alone; the result is the median of --steps iterations after --warmup.
Output: {"torch", "threads", "row", "batch", "params", "median_ms", "times_ms"}.
Alone: /usr/bin/python3 bench/engine/peer.py --row resnet50_infer --batch 1 --steps 5
"""
import argparse
import json
import statistics
import time

import torch
import torchvision


def cifar_resnet18():
    model = torchvision.models.resnet18(num_classes=10)
    model.conv1 = torch.nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    model.maxpool = torch.nn.Identity()
    return model


ROWS = {
    "cifar_resnet18_train": (cifar_resnet18, 32, 10, True),
    "resnet50_train": (torchvision.models.resnet50, 224, 1000, True),
    "resnet50_infer": (torchvision.models.resnet50, 224, 1000, False),
    "vit_b16_infer": (torchvision.models.vit_b_16, 224, 1000, False),
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--row", choices=sorted(ROWS), required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    build, size, classes, training = ROWS[a.row]
    model = build()
    x = torch.randn(a.batch, 3, size, size)
    if training:
        model.train()
        labels = torch.randint(0, classes, (a.batch,))
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = torch.nn.CrossEntropyLoss()

        def once():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), labels)
            loss.backward()
            opt.step()
            return loss.item()
    else:
        model.eval()

        def once():
            with torch.no_grad():
                return model(x)

    for _ in range(a.warmup):
        once()
    times = []
    for _ in range(a.steps):
        start = time.perf_counter()
        once()
        times.append((time.perf_counter() - start) * 1000)
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "row": a.row,
        "batch": a.batch,
        "params": sum(t.numel() for t in model.parameters()),
        "median_ms": statistics.median(times),
        "times_ms": times,
    }))


if __name__ == "__main__":
    main()
