#!/usr/bin/env python3
"""Writes the hand-made bad files of tests/data/bad/ (issue 13: hostile input).

Each file is one way a model, array or list can be wrong; tests/cli/
hostile_input_test.cpp feeds them to the real `save` binary and checks the
error, the exit code and that nothing was written. No onnx or numpy needed:
the few protobuf messages are encoded by hand (field numbers from onnx.proto),
so the files can also be malformed in ways the onnx package would refuse to
write. Run from anywhere: python3 tools/make_bad_inputs.py
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from protobuf_wire import (A_FLOAT, FLOAT, INT64, attr_int, f_bytes, f_float,  # noqa: E402
                           f_varint, tensor, value_info)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "bad")


# --- onnx.proto messages (only the fields used here) -----------------------
def attr_float(name, v):
    return f_bytes(1, name) + f_float(2, v) + f_varint(20, A_FLOAT)


def node(op, inputs, outputs, name="", attrs=()):
    # NodeProto: input=1, output=2, name=3, op_type=4, attribute=5
    return b"".join(f_bytes(1, i) for i in inputs) + b"".join(f_bytes(2, o) for o in outputs) + \
        f_bytes(3, name) + f_bytes(4, op) + b"".join(f_bytes(5, a) for a in attrs)


def model(nodes, inputs=(), outputs=(), inits=(), opset=13):
    # GraphProto: node=1, name=2, initializer=5, input=11, output=12
    g = b"".join(f_bytes(1, n) for n in nodes) + f_bytes(2, "g") + \
        b"".join(f_bytes(5, t) for t in inits) + b"".join(f_bytes(11, i) for i in inputs) + \
        b"".join(f_bytes(12, o) for o in outputs)
    # ModelProto: ir_version=1, graph=7, opset_import=8 (OperatorSetIdProto version=2)
    return f_varint(1, 7) + f_bytes(7, g) + f_bytes(8, f_varint(2, opset))


# --- .npy -------------------------------------------------------------------
def npy(descr, shape_text, data):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    x14 = value_info("x", [1, 4])
    y14 = value_info("y", [1, 4])
    # Crashed ONNX's version converter (SIGSEGV): opset 12, Softmax, no input.
    write("softmax_no_inputs.onnx", model([node("Softmax", [], ["y"], "sm")], [], [y14], opset=12))
    # An attribute of the wrong kind going into the converter (axis as a float).
    write("softmax_float_axis.onnx",
          model([node("Softmax", ["x"], ["y"], "sm", [attr_float("axis", 1.0)])], [x14], [y14],
                opset=12))
    # dims [4, 2^62 + 4]: the element count wrapped to 16 in 64 bits.
    write("wrapping_dims.onnx",
          model([node("Add", ["x", "w"], ["y"], "add")], [x14], [y14],
                [tensor("w", [4, (1 << 62) + 4], raw=b"\0" * 64)]))
    # 2^31 float32 elements claimed over 40 bytes: allocated 8 GB before the check.
    write("claims_8gb.onnx",
          model([node("Add", ["x", "w"], ["y"], "add")], [x14], [y14],
                [tensor("w", [1 << 31], raw=b"\0" * 40)]))
    # Nodes out of topological order (valid once sorted): y = -relu(x).
    write("unsorted.onnx",
          model([node("Neg", ["b"], ["y"], "neg"), node("Relu", ["x"], ["b"], "relu")], [x14],
                [y14]))
    # A real cycle: b = x + c, c = relu(b).
    write("cycle.onnx",
          model([node("Add", ["x", "c"], ["b"], "add"), node("Relu", ["b"], ["c"], "relu"),
                 node("Neg", ["b"], ["y"], "neg")], [x14], [y14]))
    # A reference to a value nothing defines.
    write("dangling_input.onnx", model([node("Relu", ["nowhere"], ["y"], "relu")], [x14], [y14]))
    # Found by tools/mutate_models.py (a mutant of fmnist-cnn): Concat of a
    # scalar indexed the empty output shape (SIGSEGV).
    s0 = tensor("s", [], INT64, raw=b"\0" * 8)
    write("concat_scalar.onnx",
          model([node("Concat", ["s", "s"], ["c"], "concat", [attr_int("axis", 0)]),
                 node("Reshape", ["x", "c"], ["y"], "reshape")], [x14], [y14], [s0]))
    # Found the same way: a graph output whose name holds control bytes made
    # the error message span several lines.
    write("newline_output.onnx",
          model([node("Relu", ["x"], ["y"], "relu")], [x14], [value_info("\n\n\x08", [1, 4])]))
    # Not a model at all.
    write("garbage.onnx", b"\xff\xfe this is not a protobuf \x00\x01\x02" * 4)

    f4 = struct.pack("<4f", 0.1, 0.2, 0.3, 0.4)
    write("x14.npy", npy("<f4", "(1, 4)", f4))
    # (-4, 1, 28, 28) was read as 4 rows.
    write("negative_shape.npy", npy("<f4", "(-4, 1, 28, 28)", b"\0" * (4 * 784 * 4)))
    # The same element-count wrap as the model above, in an input.
    write("wrapping_shape.npy", npy("<f4", "(4, %d)" % ((1 << 62) + 4), b"\0" * 64))
    # More bytes than the shape needs: was silently ignored.
    write("extra_data.npy", npy("<f4", "(1, 4)", f4 + b"\0" * 16))
    write("truncated.npy", npy("<f4", "(1, 4)", f4[:8]))
    # Two Fashion-MNIST-shaped images with labels 3 and 10 (the model has 10 classes).
    write("images2.npy", npy("<f4", "(2, 1, 28, 28)", b"\0" * (2 * 784 * 4)))
    write("labels_out_of_range.npy", npy("<i8", "(2,)", struct.pack("<2q", 3, 10)))
    write("labels_negative.npy", npy("<i8", "(2,)", struct.pack("<2q", 3, -1)))
    write("labels_ok.npy", npy("<i8", "(2,)", struct.pack("<2q", 3, 9)))
    # A binary file given as a conformance --list.
    write("binary_list.txt", b"test_relu\n\x00\x01\x02\xff\xfe garbage\n")


if __name__ == "__main__":
    main()
