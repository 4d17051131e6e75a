#!/usr/bin/python3
"""Build a synthetic wide ResNet (~40M parameters) as ONNX, for timing
`save analyze` at scale (docs/ANALYSIS.md, "Speed and scaling").

Same interface as the bundled models: input `input` N x 1 x 28 x 28 in [0, 1],
output `logits` N x 10, opset 17, dynamic batch.  Weights are random (seeded,
He init) and BatchNorm carries random running statistics in eval mode, so the
graph has the shape of a trained network (Conv + BN + ReLU, residual adds,
1x1 projection shortcuts) without training.  Not committed: it writes into a
gitignored path (default out/wide-resnet.onnx, ~160 MB).

    /usr/bin/python3 tools/make_wide_resnet.py [--width 248] [--blocks 2] \
        [--seed 0] [--out out/wide-resnet.onnx]

Stages have widths W, 2W, 4W (stride 1, 2, 2) with --blocks basic blocks
each; W = 248 and 2 blocks give about 41M parameters.
"""

import argparse
import os

import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.shortcut is None else self.shortcut(x)))


class WideResNet(nn.Module):
    def __init__(self, width, blocks):
        super().__init__()
        self.stem = nn.Conv2d(1, width, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        layers, cin = [], width
        for i, w in enumerate((width, 2 * width, 4 * width)):
            for b in range(blocks):
                layers.append(Block(cin, w, 2 if (i > 0 and b == 0) else 1))
                cin = w
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, 10)

    def forward(self, x):
        x = (x - 0.2860) / 0.3530
        x = torch.relu(self.bn(self.stem(x)))
        x = self.layers(x)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--width", type=int, default=248)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="out/wide-resnet.onnx")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    m = WideResNet(a.width, a.blocks)
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            # Random but plausible statistics: what a trained network holds.
            mod.running_mean.uniform_(-0.1, 0.1)
            mod.running_var.uniform_(0.5, 1.5)
            mod.weight.data.uniform_(0.5, 1.0)
            mod.bias.data.uniform_(-0.1, 0.1)
    m.eval()
    params = sum(p.numel() for p in m.parameters())
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    torch.onnx.export(m, torch.rand(1, 1, 28, 28), a.out, opset_version=17,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    print(f"{a.out}: {params / 1e6:.1f}M parameters (width {a.width}, {a.blocks} blocks/stage, "
          f"seed {a.seed}), {os.path.getsize(a.out) / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
