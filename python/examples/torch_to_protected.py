"""From a PyTorch module to protected inference in three lines.

    torch.onnx.export(net, x, "net.onnx", input_names=["x"], ...)   # 1. export
    model = save.ProtectedModel("net.onnx", input_range={"x": (0, 1)})  # 2. analyse
    y = model.run(x.numpy())                                          # 3. run, checked

Run from the repository root after building:
    PYTHONPATH=build/python python3 python/examples/torch_to_protected.py
"""

import pathlib
import sys
import tempfile

import numpy as np
import torch

import save


class SmallNet(torch.nn.Module):
    """A small image classifier: conv, ReLU, pooling, a linear head."""

    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1))
        self.head = torch.nn.Linear(16, 10)

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


def main(out_dir):
    torch.manual_seed(0)
    net = SmallNet().eval()
    x = torch.rand(4, 1, 28, 28)  # images in [0, 1]
    path = str(pathlib.Path(out_dir) / "smallnet.onnx")

    torch.onnx.export(net, x, path, input_names=["x"], opset_version=17,
                      dynamic_axes={"x": {0: "batch"}})
    model = save.ProtectedModel(path, input_range={"x": (0, 1)})
    y = model.run(x.numpy())

    with torch.no_grad():
        want = net(x).numpy()
    return y, want, model.report


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as d:
        y, want, report = main(sys.argv[1] if len(sys.argv) > 1 else d)
    print("protected outputs:\n", np.round(y, 4))
    print("largest difference from PyTorch:", float(np.abs(y - want).max()))
    print("report:", {k: report[k] for k in ("detections", "recoveries", "uncorrectable",
                                             "check_ms", "checked_values")})
