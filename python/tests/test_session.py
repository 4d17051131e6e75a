"""save.Session: NumPy in and out, the ways to pass inputs, errors as save.Error."""

import numpy as np
import pytest

import save


def rel_diff(got, want):
    scale = np.maximum(np.abs(want).max(axis=1, keepdims=True), 1e-6)
    return float((np.abs(got - want) / scale).max())


def test_logits_match_pytorch(models, fmnist):
    s = save.Session(models / "fmnist-cnn.onnx")
    want = np.load(models / "ref" / "fmnist-cnn-logits256.npy")
    y = s.run(fmnist)
    assert isinstance(y, np.ndarray) and y.dtype == np.float32 and y.shape == (256, 10)
    assert rel_diff(y, want) <= 1e-4


def test_input_forms_agree(models, fmnist):
    s = save.Session(str(models / "fmnist-cnn.onnx"))
    assert s.inputs == ["input"] and len(s.outputs) == 1
    x = fmnist[:4]
    a = s.run(x)
    b = s.run({"input": x})
    c = s.run([x])
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_converted_inputs(models, fmnist):
    """float64 and non-contiguous arrays are converted, giving the same answer."""
    s = save.Session(models / "fmnist-cnn.onnx")
    x = fmnist[:3]
    want = s.run(x)
    np.testing.assert_array_equal(s.run(x.astype(np.float64)), want)
    # A strided view (every second image of a 6-image batch).
    wide = np.repeat(x, 2, axis=0)[::2]
    assert not wide.flags.c_contiguous
    np.testing.assert_array_equal(s.run(wide), want)
    # Fortran order.
    np.testing.assert_array_equal(s.run(np.asfortranarray(x)), want)


def test_outputs_own_their_memory(models, fmnist):
    """Each run's output is a fresh array over the engine's buffer (no copy
    into NumPy), unaffected by later runs."""
    s = save.Session(models / "fmnist-cnn.onnx")
    y1 = s.run(fmnist[:2])
    keep = y1.copy()
    assert not y1.flags.owndata  # a view over the tensor's storage
    s.run(fmnist[2:4])
    np.testing.assert_array_equal(y1, keep)


def test_errors_carry_the_engine_message(models, fmnist, tmp_path):
    with pytest.raises(save.Error, match="nothing.onnx"):
        save.Session(tmp_path / "nothing.onnx")
    s = save.Session(models / "fmnist-cnn.onnx")
    with pytest.raises(save.Error, match="no input named 'x'"):
        s.run({"x": fmnist[:1]})
    with pytest.raises(save.Error, match="input"):
        s.run(np.zeros((1, 3, 28, 28), np.float32))  # wrong channel count
    with pytest.raises(save.Error, match="takes 1 inputs"):
        s.run([fmnist[:1], fmnist[:1]])
    assert issubclass(save.Error, RuntimeError)
