#!/usr/bin/env python3
"""Writes the small ONNX fixtures the C++ tests use (tests/data/*.onnx).

Run with Debian's python3 (python3-onnx): /usr/bin/python3 tools/make_test_models.py
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data")


def save(model, name):
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, name))


def main():
    os.makedirs(OUT, exist_ok=True)
    # An operator no engine knows: the import must name it and its node.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    node = helper.make_node("Relu", ["x"], ["r"], name="ok_relu")
    bad = helper.make_node("Hardmax", ["r"], ["y"], name="mystery_node")
    g = helper.make_graph([node, bad], "unsupported", [x], [y])
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), "unsupported_op.onnx")

    # Two named inputs, weights both as an initializer and as a Constant node,
    # a dynamic batch and a shape subgraph (Shape/Gather/Unsqueeze/Concat/Reshape).
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", 2, 3])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, ["batch", 2, 3])
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", 6])
    w = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "w")
    nodes = [
        helper.make_node("Constant", [], ["c"], name="const_c",
                         value=numpy_helper.from_array(np.full((2, 3), 0.5, np.float32))),
        helper.make_node("Add", ["a", "b"], ["s"], name="add_ab"),
        helper.make_node("Mul", ["s", "w"], ["m"], name="mul_w"),
        helper.make_node("Add", ["m", "c"], ["m2"], name="add_c"),
        helper.make_node("Shape", ["m2"], ["shp"], name="shape"),
        helper.make_node("Constant", [], ["zero"], name="const_zero",
                         value=numpy_helper.from_array(np.array(0, np.int64))),
        helper.make_node("Gather", ["shp", "zero"], ["n"], name="gather_batch", axis=0),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"], name="unsq"),
        helper.make_node("Concat", ["n1", "minus_one"], ["newshape"], name="concat_shape", axis=0),
        helper.make_node("Reshape", ["m2", "newshape"], ["out"], name="reshape"),
    ]
    inits = [w, numpy_helper.from_array(np.array([0], np.int64), "axes0"),
             numpy_helper.from_array(np.array([-1], np.int64), "minus_one")]
    g = helper.make_graph(nodes, "two_inputs", [a, b], [out], initializer=inits)
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), "two_inputs.onnx")


if __name__ == "__main__":
    main()
