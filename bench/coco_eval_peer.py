"""Peer timing for bench/coco_eval.ts: pycocotools COCOeval on the same files.

Usage: PYTHONPATH=<cocoapi PythonAPI dir> python3 coco_eval_peer.py gt.json results.json bbox|segm
Prints one JSON line: {"load_s", "eval_s", "total_s", "stats"}; eval_s covers
evaluate + accumulate + summarize, load_s covers COCO(gt) + loadRes.
"""
import contextlib
import io
import json
import sys
import time

from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

gt_path, dt_path, iou_type = sys.argv[1:4]
with contextlib.redirect_stdout(io.StringIO()):
    t0 = time.perf_counter()
    gt = COCO(gt_path)
    dt = gt.loadRes(dt_path)
    t1 = time.perf_counter()
    E = COCOeval(gt, dt, iou_type)
    E.evaluate()
    E.accumulate()
    E.summarize()
    t2 = time.perf_counter()
print(json.dumps({"load_s": t1 - t0, "eval_s": t2 - t1, "total_s": t2 - t0,
                  "stats": [float(s) for s in E.stats]}))
