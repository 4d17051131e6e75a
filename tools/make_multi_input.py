#!/usr/bin/python3
"""The multi-input fixture (tests/data/multi_input/): a small model with TWO
inputs, dynamic spatial dims and a recurrent op (GRU), its .npy inputs and labels, for the
end-to-end test of the input options (tests/cli/multi_input_test.cpp).

  /usr/bin/python3 tools/make_multi_input.py

Needs Debian's python3-torch only (exported with torch.onnx.export, as
tools/make_zoo.py does; python3-onnx is not needed). Seeded: re-running it
writes the same model and data.

Model (opset 13):
  image float32 [N, 3, H, W] (N, H, W dynamic) -> Conv 3x3 (pad 1) -> Relu
        -> MaxPool 2 -> GlobalAveragePool -> [N, 4]
  vec   float32 [N, 5] (N dynamic): 5 time steps of 1 feature -> GRU (hidden 4,
        PyTorch's linear_before_reset=1) -> last state [N, 4]
  concat [N, 8] -> Gemm -> logits [N, 3]   (classifier-shaped: top-1 metric)
                -> Gemm -> Sigmoid -> score [N, 1] (regression-shaped: rel-linf)
Files:
  model.onnx
  image.npy [4, 3, 10, 10] in [0, 1]     vec.npy [4, 5] in [0, 1]
  image_folder/sample_{0..3}.npy [3, 10, 10]: the same samples, one per file
  labels.npy int64 [4]: PyTorch's top-1 of logits (fault-free accuracy 1)
"""

import os

import numpy as np
import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data",
                   "multi_input")
N, H, W = 4, 10, 10


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.gru = nn.GRU(1, 4, batch_first=True)
        self.head = nn.Linear(8, 3)
        self.reg = nn.Linear(8, 1)

    def forward(self, image, vec):
        a = self.gap(self.pool(torch.relu(self.conv(image)))).flatten(1)
        _, h = self.gru(vec.unsqueeze(-1))
        b = h[0]
        f = torch.cat([a, b], dim=1)
        return self.head(f), torch.sigmoid(self.reg(f))


def main():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    os.makedirs(os.path.join(OUT, "image_folder"), exist_ok=True)
    model = TwoInputs().eval()
    image = rng.random((N, 3, H, W), dtype=np.float32)
    vec = rng.random((N, 5), dtype=np.float32)
    torch.onnx.export(model, (torch.from_numpy(image), torch.from_numpy(vec)),
                      os.path.join(OUT, "model.onnx"), opset_version=13,
                      input_names=["image", "vec"], output_names=["logits", "score"],
                      dynamic_axes={"image": {0: "N", 2: "H", 3: "W"}, "vec": {0: "N"},
                                    "logits": {0: "N"}, "score": {0: "N"}},
                      do_constant_folding=True)
    np.save(os.path.join(OUT, "image.npy"), image)
    np.save(os.path.join(OUT, "vec.npy"), vec)
    for i in range(N):
        np.save(os.path.join(OUT, "image_folder", "sample_%d.npy" % i), image[i])
    with torch.no_grad():
        logits, _ = model(torch.from_numpy(image), torch.from_numpy(vec))
    np.save(os.path.join(OUT, "labels.npy"), logits.argmax(1).numpy().astype(np.int64))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
