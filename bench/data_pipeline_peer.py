"""torchvision peer of bench/data_pipeline.ts: ImageNet-style training input images/s.

Reads the JPEGs of a folder (label 0 for all), applies RandomResizedCrop(224),
RandomHorizontalFlip(), ToTensor(), Normalize(ImageNet mean/std) in a DataLoader with
num_workers workers and batch 32 (shuffled, repeated epoch after epoch), and measures batches
after the first `warmup` ones (worker start-up excluded) until `seconds` have passed.

Prints one JSON object: {"torch", "torchvision", "workers", "batch", "images", "seconds",
"images_per_s"}. Run by the TypeScript bench; alone:
  /usr/bin/python3 bench/data_pipeline_peer.py --images ../shared/data/coco128/train2017
"""
import argparse
import json
import os
import time

import torch
import torchvision
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms


class JpegFolder(Dataset):
    def __init__(self, folder, transform):
        self.files = sorted(
            os.path.join(folder, f) for f in os.listdir(folder) if f.lower().endswith(".jpg")
        )
        self.transform = transform

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        with open(self.files[i], "rb") as f:
            image = Image.open(f).convert("RGB")
        return self.transform(image), 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--images", required=True)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--warmup", type=int, default=2)
    a = p.parse_args()
    torch.manual_seed(0)
    transform = transforms.Compose([
        transforms.RandomResizedCrop(224),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ])
    data = JpegFolder(a.images, transform)
    loader = DataLoader(data, batch_size=a.batch, shuffle=True, num_workers=a.workers,
                        drop_last=True, persistent_workers=a.workers > 0)
    seen = 0
    batches = 0
    start = None
    elapsed = 0.0
    while True:
        for images, _ in loader:
            assert images.shape == (a.batch, 3, 224, 224)
            batches += 1
            if batches == a.warmup:
                start = time.perf_counter()
            elif start is not None:
                seen += images.shape[0]
                elapsed = time.perf_counter() - start
                if elapsed >= a.seconds:
                    break
        if start is not None and elapsed >= a.seconds:
            break
    print(json.dumps({
        "torch": torch.__version__, "torchvision": torchvision.__version__,
        "workers": a.workers, "batch": a.batch, "images": len(data),
        "seconds": elapsed, "images_per_s": seen / elapsed,
    }))


if __name__ == "__main__":
    main()
