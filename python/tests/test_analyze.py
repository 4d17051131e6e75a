"""save.analyze returns the table `save analyze --json` prints."""

import json

import save
from conftest import run_cli


def strip_times(j):
    j = dict(j)
    j.pop("seconds")
    j["values"] = [{k: v for k, v in row.items() if k != "seconds"} for row in j["values"]]
    return j


def test_matches_cli(models):
    path = models / "fmnist-cnn.onnx"
    got = save.analyze(path, input_range={"input": (0, 1)})
    want = json.loads(run_cli("analyze", path, "--json", "--input-range", "input=0:1").stdout)
    got["model"] = want["model"]  # the path as given differs (Path vs str)
    assert strip_times(got) == strip_times(want)
    weights = [r for r in got["values"] if r["kind"] == "weight"]
    assert weights and all(r["robust_bits"] + r["ranging_bits"] + r["vulnerable_bits"] > 0
                           for r in weights)
    t = got["totals"]
    assert t["robust_bits"] > 0 and t["vulnerable_bits"] >= 0
