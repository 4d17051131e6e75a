#!/usr/bin/python3
"""The benchmark zoo: real architectures with seeded random weights, exported to
ONNX (opset 17) into an ignored folder, with an input and PyTorch's output for
each, and a check that `save run` agrees with PyTorch.

  /usr/bin/python3 tools/make_zoo.py [--out zoo] [--models resnet18,...]
  /usr/bin/python3 tools/make_zoo.py --check build/src/save [--out zoo]

Needs Debian's python3-torch (1.13) and python3-torchvision (0.14); nothing is
downloaded: torchvision.models.X(weights=None) after torch.manual_seed(0).
The models are hundreds of MB: zoo/ is in .gitignore, never commit them.

Models (inputs float32 unless noted):
  resnet18, resnet50, mobilenet_v3_large, efficientnet_b0
      input [N, 3, H, W], N, H and W dynamic (exported at 224x224)
  vit_b_16
      input [N, 3, 224, 224], N dynamic (the position embedding fixes 224)
  bert_base
      input_ids int64 [N, 128], N dynamic: a BERT-base-sized encoder in plain
      torch (token embedding Gather + learned positions, 12 post-norm layers,
      hidden 768, 12 heads, FFN 3072, erf GELU), output [N, 128, 768]. The
      sequence length is fixed at 128 so reshapes have constant shapes.

For each MODEL the folder holds MODEL.onnx, MODEL-input.npy (batch 1) and
MODEL-torch.npy (PyTorch's output on it); the CNNs also MODEL-input-b2.npy /
-torch-b2.npy at batch 2 and 192x160, to check the dynamic axes. --check runs
`SAVE run MODEL.onnx --input NAME=MODEL-input.npy --output DIR` on each and
compares with PyTorch: max |ours - torch| <= tol * max |torch| (and max |torch|
> 1e-3: a near-zero output would make the comparison vacuous).
"""

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn

CNNS = ["resnet18", "resnet50", "mobilenet_v3_large", "efficientnet_b0"]
ALL = CNNS + ["vit_b_16", "bert_base"]
SEQ = 128
VOCAB = 30522


class EncoderLayer(nn.Module):
    """One post-norm BERT layer, attention written out (no nn.MultiheadAttention)."""

    def __init__(self, d=768, heads=12, ffn=3072):
        super().__init__()
        self.heads, self.hd = heads, d // heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln1 = nn.LayerNorm(d, eps=1e-12)
        self.fc1 = nn.Linear(d, ffn)
        self.fc2 = nn.Linear(ffn, d)
        self.ln2 = nn.LayerNorm(d, eps=1e-12)
        self.act = nn.GELU()

    def forward(self, x):
        # -1 for the batch: the reshape's shape stays a constant in the graph.
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        split = lambda t: t.reshape(-1, SEQ, self.heads, self.hd).transpose(1, 2)
        q, k, v = split(q), split(k), split(v)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.hd), dim=-1)
        y = (att @ v).transpose(1, 2).reshape(-1, SEQ, self.heads * self.hd)
        x = self.ln1(x + self.proj(y))
        return self.ln2(x + self.fc2(self.act(self.fc1(x))))


class BertEncoder(nn.Module):
    def __init__(self, layers=12, d=768):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, d)
        self.pos = nn.Parameter(torch.randn(1, SEQ, d) * 0.02)
        self.ln = nn.LayerNorm(d, eps=1e-12)
        self.layers = nn.ModuleList(EncoderLayer(d) for _ in range(layers))

    def forward(self, input_ids):
        x = self.ln(self.tok(input_ids) + self.pos)
        for layer in self.layers:
            x = layer(x)
        return x


def build(name):
    """The model with seeded random weights, made numerically non-degenerate.

    torchvision's initialisation alone gives useless outputs to compare: the
    ViT's head is zero-initialised (output all 0), and MobileNetV3 /
    EfficientNet with identity BatchNorm statistics shrink activations to
    ~1e-16 by the last layer. So the BatchNorm running statistics are
    recalibrated on random inputs (two batches, cumulative average), and a
    zero head gets N(0, 0.02) weights.
    """
    torch.manual_seed(0)
    if name == "bert_base":
        return BertEncoder().eval()
    import torchvision

    model = getattr(torchvision.models, name)(weights=None)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    if bns:
        for m in bns:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batches
        model.train()
        g = torch.Generator().manual_seed(123)
        with torch.no_grad():
            for _ in range(2):
                model(torch.rand(8, 3, 224, 224, generator=g))
    for m in model.modules():
        if isinstance(m, nn.Linear) and not m.weight.any():
            nn.init.normal_(m.weight, std=0.02)
    return model.eval()


def inputs_for(name, batch, hw=(224, 224)):
    g = torch.Generator().manual_seed(1 + batch)
    if name == "bert_base":
        return torch.randint(0, VOCAB, (batch, SEQ), generator=g, dtype=torch.int64)
    return torch.rand(batch, 3, hw[0], hw[1], generator=g)


def input_name(name):
    return "input_ids" if name == "bert_base" else "input"


def export(name, out):
    path = os.path.join(out, name + ".onnx")
    model = build(name)
    x = inputs_for(name, 1)
    axes = {0: "N"}
    if name in CNNS:
        axes.update({2: "H", 3: "W"})
    t0 = time.time()
    # Exported with gradients on: under no_grad torch 1.13 traces
    # nn.MultiheadAttention's fused fast path (aten::_native_multi_head_attention),
    # which has no ONNX export.
    torch.onnx.export(model, x, path, opset_version=17, input_names=[input_name(name)],
                      output_names=["output"],
                      dynamic_axes={input_name(name): axes, "output": {0: "N"}},
                      do_constant_folding=True)
    with torch.no_grad():
        cases = [("", x)]
        if name in CNNS:
            cases.append(("-b2", inputs_for(name, 2, (192, 160))))
        for suffix, xi in cases:
            np.save(os.path.join(out, "%s-input%s.npy" % (name, suffix)), xi.numpy())
            np.save(os.path.join(out, "%s-torch%s.npy" % (name, suffix)), model(xi).numpy())
    print("%-20s %7.1f MB  exported in %.1f s" % (name, os.path.getsize(path) / 1e6,
                                                   time.time() - t0))


def check(name, out, save_bin, tol):
    """Runs `save run` on each stored input; returns True when all agree."""
    ok = True
    suffixes = [""] + (["-b2"] if name in CNNS else [])
    for suffix in suffixes:
        x = os.path.join(out, "%s-input%s.npy" % (name, suffix))
        ref = np.load(os.path.join(out, "%s-torch%s.npy" % (name, suffix)))
        with tempfile.TemporaryDirectory() as d:
            cmd = [save_bin, "run", os.path.join(out, name + ".onnx"), "--input",
                   "%s=%s" % (input_name(name), x), "--output", d, "--warmup", "0",
                   "--repeat", "1"]
            t0 = time.time()
            p = subprocess.run(cmd, capture_output=True, text=True)
            wall = time.time() - t0
            if p.returncode != 0:
                print("%-20s%-4s FAILS to run: %s" % (name, suffix, p.stderr.strip()))
                ok = False
                continue
            ours = np.load(os.path.join(d, "output.npy"))
        if ours.shape != ref.shape:
            print("%-20s%-4s shape %s, torch %s" % (name, suffix, ours.shape, ref.shape))
            ok = False
            continue
        diff = float(np.max(np.abs(ours.astype(np.float64) - ref)))
        scale = float(np.max(np.abs(ref)))
        # A degenerate (near-zero) output would make any engine "agree".
        good = scale > 1e-3 and diff <= tol * scale
        ok &= good
        print("%-20s%-4s %s  max|ours-torch| %.2e (max|torch| %.2e, tol %.0e)  %.1f s" % (
            name, suffix, "agrees" if good else "DIFFERS", diff, scale, tol, wall))
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="zoo", help="output folder (default zoo/, gitignored)")
    ap.add_argument("--models", default=",".join(ALL), help="comma-separated subset")
    ap.add_argument("--check", metavar="SAVE", help="compare `SAVE run` with PyTorch instead")
    ap.add_argument("--tol", type=float, default=1e-3)
    ap.add_argument("--force", action="store_true", help="re-export models already there")
    a = ap.parse_args()
    names = [m for m in a.models.split(",") if m]
    bad = [m for m in names if m not in ALL]
    if bad:
        sys.exit("error: unknown zoo model(s) %s (known: %s)" % (", ".join(bad), ", ".join(ALL)))
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    os.makedirs(a.out, exist_ok=True)
    if a.check:
        failed = [m for m in names if not check(m, a.out, a.check, a.tol)]
        if failed:
            sys.exit("error: %s do not agree with PyTorch (or do not run)" % ", ".join(failed))
        return
    for m in names:
        if not a.force and os.path.exists(os.path.join(a.out, m + ".onnx")):
            print("%-20s already there (--force to re-export)" % m)
            continue
        export(m, a.out)


if __name__ == "__main__":
    main()
