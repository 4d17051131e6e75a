#!/usr/bin/env python3
"""Writes tests/data/control_flow/if_model.onnx: a small model with an If
whose condition is computed from the input (so the analysis cannot know it
and must take the hull of both branches), for the CLI test
tests/cli/control_flow_cli_test.cpp (`save run`, `save analyze`).

  python3 tools/make_if_model.py

No onnx or numpy needed (python3-onnx is not installed everywhere): the
protobuf messages are encoded by hand, field numbers from onnx.proto, as
tools/make_bad_inputs.py does. Deterministic: re-running writes the same file.

Model (opset 13):
  x float32 [1, 4]
  s    = ReduceSum(x, keepdims=0)            scalar
  cond = Greater(s, 2.0)
  y    = If(cond) then: Mul(x, w)  (w = 3, an outer initializer read by name)
                  else: Neg(x)
  y float32 [1, 4]
With x in [0, 1]: y lies in [0, 3] (then) or [-1, 0] (else); the hull is [-1, 3].
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from protobuf_wire import (A_GRAPH, FLOAT, attr_int, f_bytes, f_varint, tensor,  # noqa: E402
                           value_info)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data",
                   "control_flow")


def f32_tensor(name, dims, values):
    return tensor(name, dims, FLOAT, struct.pack("<%df" % len(values), *values))


def attr_graph(name, g):
    # AttributeProto: g=6
    return f_bytes(1, name) + f_bytes(6, g) + f_varint(20, A_GRAPH)


def node(op, inputs, outputs, name, attrs=()):
    return b"".join(f_bytes(1, i) for i in inputs) + b"".join(f_bytes(2, o) for o in outputs) + \
        f_bytes(3, name) + f_bytes(4, op) + b"".join(f_bytes(5, a) for a in attrs)


def graph(name, nodes, inputs=(), outputs=(), inits=()):
    # GraphProto: node=1, name=2, initializer=5, input=11, output=12
    return b"".join(f_bytes(1, n) for n in nodes) + f_bytes(2, name) + \
        b"".join(f_bytes(5, t) for t in inits) + b"".join(f_bytes(11, i) for i in inputs) + \
        b"".join(f_bytes(12, o) for o in outputs)


def main():
    os.makedirs(OUT, exist_ok=True)
    then_g = graph("then", [node("Mul", ["x", "w"], ["t_out"], "then_mul")],
                   outputs=[value_info("t_out", [1, 4])])
    else_g = graph("else", [node("Neg", ["x"], ["e_out"], "else_neg")],
                   outputs=[value_info("e_out", [1, 4])])
    nodes = [
        node("ReduceSum", ["x"], ["s"], "sum", [attr_int("keepdims", 0)]),
        node("Greater", ["s", "two"], ["cond"], "greater"),
        node("If", ["cond"], ["y"], "branch",
             [attr_graph("then_branch", then_g), attr_graph("else_branch", else_g)]),
    ]
    g = graph("if_model", nodes, [value_info("x", [1, 4])], [value_info("y", [1, 4])],
              [f32_tensor("w", [1, 4], [3.0] * 4), f32_tensor("two", [], [2.0])])
    # ModelProto: ir_version=1, producer_name=2, graph=7, opset_import=8
    m = f_varint(1, 7) + f_bytes(2, "make_if_model.py") + f_bytes(7, g) + \
        f_bytes(8, f_varint(2, 13))
    with open(os.path.join(OUT, "if_model.onnx"), "wb") as f:
        f.write(m)
    # A sample with sum 2.6 > 2 (then branch: y = 3x).
    x = [0.4, 0.7, 0.6, 0.9]
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4), }"
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(os.path.join(OUT, "x.npy"), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() +
                struct.pack("<4f", *x))


if __name__ == "__main__":
    main()
