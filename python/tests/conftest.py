"""Shared fixtures: the repository, the bundled models, the CLI, the test images."""

import gzip
import os
import pathlib
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(os.environ.get("SAVE_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
MODELS = ROOT / "models"
CLI = os.environ.get("SAVE_CLI", str(ROOT / "build" / "src" / "save"))


@pytest.fixture(scope="session")
def models():
    return MODELS


@pytest.fixture(scope="session")
def fmnist():
    """The first 256 Fashion-MNIST test images, N x 1 x 28 x 28 in [0, 1]."""
    with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
        raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
    return (raw[: 256 * 784].reshape(256, 1, 28, 28).astype(np.float32) / 255.0)


def run_cli(*args, **kw):
    """Runs the `save` CLI; returns the CompletedProcess (raises on failure)."""
    env = dict(os.environ, OMP_WAIT_POLICY="passive")
    return subprocess.run([CLI, *map(str, args)], check=True, capture_output=True, text=True,
                          env=env, **kw)
