"""PyTorch CPU peer of bench/resnet50_forward.ts: torchvision ResNet-50 inference images/s.

Prints one JSON object {"torch": version, "threads": n, "results": {batch: images_per_s}}.
Run by the TypeScript bench; alone: /usr/bin/python3 bench/resnet50_forward_peer.py --batches 1 8
"""
import argparse
import json
import time

import torch
import torchvision


def images_per_second(model, batch, size, min_seconds, min_iters, warmup):
    x = torch.randn(batch, 3, size, size)
    with torch.no_grad():
        for _ in range(warmup):
            model(x)
        iters = 0
        start = time.perf_counter()
        while True:
            model(x)
            iters += 1
            elapsed = time.perf_counter() - start
            if iters >= min_iters and elapsed >= min_seconds:
                break
    return batch * iters / elapsed


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--min_seconds", type=float, default=10.0)
    p.add_argument("--min_iters", type=int, default=3)
    p.add_argument("--warmup", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = torchvision.models.resnet50().eval()
    results = {
        str(b): images_per_second(model, b, a.size, a.min_seconds, a.min_iters, a.warmup)
        for b in a.batches
    }
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "params": sum(t.numel() for t in model.parameters()),
                      "results": results}))


if __name__ == "__main__":
    main()
