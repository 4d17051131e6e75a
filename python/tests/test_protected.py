"""save.ProtectedModel: same answers as the unprotected model, a report that
counts what the checks did, bad options refused with the engine's message."""

import numpy as np
import pytest

import save

KEYS = {"detections", "false_alarms", "recoveries", "uncorrectable", "uncorrectable_sites",
        "restarts", "reexecuted_steps", "corrections", "check_ms", "reliable_bytes", "detections_by_site",
        "inputs_outside_constraint", "checked_values", "range_only_values", "placed_values"}


def test_protected_equals_unprotected_fault_free(models, fmnist):
    path = models / "fmnist-cnn.onnx"
    m = save.ProtectedModel(path, plan=None, reliable_mem="1%", input_range={"input": (0, 1)})
    plain = save.Session(path)
    np.testing.assert_array_equal(m.run(fmnist[:8]), plain.run(fmnist[:8]))
    # Another batch size: a new plan, prepared for the checks on first use.
    np.testing.assert_array_equal(m.run({"input": fmnist[:1]}), plain.run(fmnist[:1]))
    r = m.report
    assert KEYS <= set(r)
    assert r["detections"] == 0 and r["uncorrectable"] == 0 and r["uncorrectable_sites"] == []
    assert r["checked_values"] > 0
    assert r["check_ms"] > 0
    assert r["inputs_outside_constraint"] == 0


def test_input_outside_the_constraint_is_reported(models, fmnist):
    m = save.ProtectedModel(models / "fmnist-cnn.onnx", input_range={"input": (0, 1)})
    m.run(fmnist[:1])
    assert m.report["inputs_outside_constraint"] == 0
    m.run(fmnist[:1] * 3.0)  # pixels up to 3: outside [0, 1]
    assert m.report["inputs_outside_constraint"] == 1


def test_plan_from_analyze(models, fmnist, tmp_path):
    path = models / "fmnist-cnn.onnx"
    plan = tmp_path / "cnn.plan"
    save.analyze(path, plan_out=plan)
    assert plan.exists()
    m = save.ProtectedModel(path, plan=plan)
    np.testing.assert_array_equal(m.run(fmnist[:2]), save.Session(path).run(fmnist[:2]))
    # A plan made for another model is refused.
    with pytest.raises(save.Error, match="plan"):
        save.ProtectedModel(models / "fmnist-resnet.onnx", plan=plan)


def test_bad_options(models):
    path = models / "fmnist-cnn.onnx"
    with pytest.raises(save.Error, match="weight-check"):
        save.ProtectedModel(path, weight_check="nope")
    with pytest.raises(save.Error, match="no input named 'x'"):
        save.ProtectedModel(path, input_range={"x": (0, 1)})
    with pytest.raises(save.Error, match="lo 2 is above hi 1"):
        save.ProtectedModel(path, input_range={"input": (2, 1)})
    with pytest.raises(save.Error, match="reliable"):
        save.ProtectedModel(path, reliable_mem="lots")
