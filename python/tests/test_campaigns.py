"""save.inject / save.eval: the CLI's campaigns, the same bytes on disk, the
results as dicts; resuming re-runs nothing."""

import json

import pytest

import save
from conftest import run_cli


def test_inject_matches_cli(models, tmp_path):
    path = models / "fmnist-cnn.onnx"
    a, b = tmp_path / "py", tmp_path / "cli"
    r = save.inject(path, data="fashion-mnist", out=a, flips=[0, 64], trials=2, limit=128,
                    batch=64, seed=7, threads=1)
    assert r["ran"] == 4 and r["skipped"] == 0 and r["complete"]
    on_disk = json.loads((a / "summary.json").read_text())
    assert r["summary"] == on_disk
    for name in ("summary.json", "summary.csv", "report.md", "timings.json", "trials.jsonl"):
        assert (a / name).exists()
    run_cli("inject", path, "--data", "fashion-mnist", "--out", b, "--flips", "0,64",
            "--trials", 2, "--limit", 128, "--batch", 64, "--seed", 7, "--threads", 1)
    assert (a / "summary.json").read_bytes() == (b / "summary.json").read_bytes()
    # Re-running resumes: nothing new runs, the same summary comes back.
    again = save.inject(path, data="fashion-mnist", out=a, flips=[0, 64], trials=2, limit=128,
                        batch=64, seed=7, threads=1)
    assert again["ran"] == 0 and again["skipped"] == 4
    assert again["summary"] == r["summary"]


def test_inject_protected(models, tmp_path):
    r = save.inject(models / "fmnist-cnn.onnx", data="fashion-mnist", out=tmp_path, flips=[64],
                    trials=1, limit=64, protect="save", reliable_mem="1%",
                    input_range={"input": (0, 1)}, threads=1)
    (series,) = r["summary"]["series"]
    assert series["mode"] == "save"


def test_inject_errors(models, tmp_path):
    with pytest.raises(save.Error, match="unknown|pattern"):
        save.inject(models / "fmnist-cnn.onnx", data="fashion-mnist", out=tmp_path,
                    pattern="sideways")
    with pytest.raises(save.Error, match="mode|protect"):
        save.inject(models / "fmnist-cnn.onnx", data="fashion-mnist", out=tmp_path,
                    protect="prayer", limit=8, trials=1, flips=[0])


def test_eval_small(models, tmp_path):
    r = save.eval(models / "fmnist-cnn.onnx", out=tmp_path, modes=["none", "save"], limit=64,
                  trials=1, ood_samples=0, flips=[0, 64], scenarios=["accumulated"], threads=1)
    assert r["complete"] and r["ran"] == 4
    assert r["results"] == json.loads((tmp_path / "results.json").read_text())
    assert "none" in r["table"] and "save" in r["table"]
    assert (tmp_path / "none" / "accumulated" / "summary.json").exists()
