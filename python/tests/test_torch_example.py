"""The PyTorch example: export, protect, run; answers as PyTorch's, no alarm."""

import pathlib
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="python3-torch (scripts/install-deps.sh) not installed")

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "examples"))
import torch_to_protected  # noqa: E402


def test_three_lines_from_pytorch(tmp_path):
    y, want, report = torch_to_protected.main(tmp_path)
    assert y.shape == want.shape == (4, 10)
    scale = np.abs(want).max()
    assert float(np.abs(y - want).max()) <= 1e-4 * max(scale, 1.0)
    assert report["detections"] == 0 and report["uncorrectable"] == 0
    assert report["checked_values"] > 0
