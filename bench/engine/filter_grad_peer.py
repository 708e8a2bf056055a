"""PyTorch CPU peer of bench/engine/filter_grad.ts: the filter gradient of one 3x3 stride-1
'same' convolution (torch.nn.grad.conv2d_weight, which runs the backend's weight-gradient kernel),
median ms over --runs after 3 warm-ups, printed as one JSON line."""
import argparse
import json
import statistics
import time

import torch

p = argparse.ArgumentParser()
p.add_argument("--n", type=int, required=True)
p.add_argument("--c", type=int, required=True)
p.add_argument("--hw", type=int, required=True)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--runs", type=int, default=10)
a = p.parse_args()
torch.set_num_threads(a.threads)
x = torch.randn(a.n, a.c, a.hw, a.hw)
dy = torch.randn(a.n, a.c, a.hw, a.hw)
times = []
with torch.no_grad():
    for i in range(3 + a.runs):
        t0 = time.perf_counter()
        torch.nn.grad.conv2d_weight(x, (a.c, a.c, 3, 3), dy, stride=1, padding=1)
        if i >= 3:
            times.append((time.perf_counter() - t0) * 1000)
print(json.dumps({"median_ms": statistics.median(times), "torch": torch.__version__}))
