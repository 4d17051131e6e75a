#!/usr/bin/python3
"""Writes stand-ins for the three bundled models for benchmarking: the same
graphs as tools/train_models.py exports (opset 17, input `input` N x 1 x 28 x 28,
dynamic batch, output `logits` N x 10) with random weights, built with
Debian's python3-onnx (no PyTorch needed). Latency does not depend on the
weights, so bench_models gives the same numbers on these as on the trained
models; use them when models/*.onnx are not there yet.

  /usr/bin/python3 bench/make_synthetic_models.py [OUT_DIR]   # default build-bench/synth
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MEAN, STD = 0.2860, 0.3530
rng = np.random.default_rng(0)


class G:
    """A tiny graph builder: nodes, initializers, fresh names."""

    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, base):
        self.n += 1
        return "%s_%d" % (base, self.n)

    def const(self, arr, base="w"):
        nm = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(arr), nm))
        return nm

    def op(self, op_type, inputs, n_out=1, **attrs):
        outs = [self.name(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.name(op_type), **attrs))
        return outs[0] if n_out == 1 else outs

    def weight(self, *shape, fan_in):
        return self.const((rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32))

    def bias(self, n):
        return self.const((rng.standard_normal(n) * 0.01).astype(np.float32), "b")

    def normalize(self, x):
        x = self.op("Sub", [x, self.const(np.array(MEAN, np.float32), "mean")])
        return self.op("Div", [x, self.const(np.array(STD, np.float32), "std")])

    def conv(self, x, cin, cout, k, stride=1, pad=None, bias=True):
        pad = k // 2 if pad is None else pad
        ins = [x, self.weight(cout, cin, k, k, fan_in=cin * k * k)]
        if bias:
            ins.append(self.bias(cout))
        return self.op("Conv", ins, kernel_shape=[k, k], strides=[stride, stride],
                       pads=[pad] * 4, dilations=[1, 1], group=1)

    def bn(self, x, c):
        f = lambda lo, hi: self.const(rng.uniform(lo, hi, c).astype(np.float32), "bn")
        return self.op("BatchNormalization", [x, f(0.5, 1.5), f(-0.1, 0.1), f(-0.1, 0.1),
                                              f(0.5, 1.5)], epsilon=1e-5, momentum=0.9)

    def linear(self, x, cin, cout, gemm=True):
        if gemm:  # 2-D input: torch exports Gemm with transB
            return self.op("Gemm", [x, self.weight(cout, cin, fan_in=cin), self.bias(cout)],
                           alpha=1.0, beta=1.0, transB=1)
        # 3-D input: MatMul with a pre-transposed weight, then Add
        y = self.op("MatMul", [x, self.weight(cin, cout, fan_in=cin)])
        return self.op("Add", [y, self.bias(cout)])

    def i64(self, *v):
        return self.const(np.array(v, np.int64), "shape")

    def model(self, x, y, path):
        g = helper.make_graph(
            self.nodes, os.path.basename(path)[:-5],
            [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", 1, 28, 28])],
            [helper.make_tensor_value_info(y, TensorProto.FLOAT, ["batch", 10])],
            initializer=self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="save-bench-synthetic")
        m.ir_version = 8
        onnx.checker.check_model(m)
        onnx.save(m, path)
        print("wrote %s (%d nodes, %d bytes)" % (path, len(self.nodes), os.path.getsize(path)))


def cnn(path):
    g = G()
    x = g.normalize("input")
    x = g.op("MaxPool", [g.op("Relu", [g.conv(x, 1, 32, 3)])], kernel_shape=[2, 2], strides=[2, 2])
    x = g.op("MaxPool", [g.op("Relu", [g.conv(x, 32, 64, 3)])], kernel_shape=[2, 2], strides=[2, 2])
    x = g.op("Flatten", [x], axis=1)
    x = g.op("Relu", [g.linear(x, 64 * 7 * 7, 128)])
    g.linear(x, 128, 10)
    g.nodes[-1].output[0] = "logits"
    g.model("input", "logits", path)


def resnet(path, widths=(32, 64, 128), blocks=3):
    g = G()
    x = g.normalize("input")
    x = g.op("Relu", [g.bn(g.conv(x, 1, widths[0], 3, bias=False), widths[0])])
    cin = widths[0]
    for i, w in enumerate(widths):
        for j in range(blocks):
            stride = 2 if (i > 0 and j == 0) else 1
            out = g.op("Relu", [g.bn(g.conv(x, cin, w, 3, stride, bias=False), w)])
            out = g.bn(g.conv(out, w, w, 3, bias=False), w)
            sc = x
            if stride != 1 or cin != w:
                sc = g.bn(g.conv(x, cin, w, 1, stride, pad=0, bias=False), w)
            x = g.op("Relu", [g.op("Add", [out, sc])])
            cin = w
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])], axis=1)
    g.linear(x, widths[-1], 10)
    g.nodes[-1].output[0] = "logits"
    g.model("input", "logits", path)


def vit(path, patch=4, dim=128, depth=6, heads=4, mlp=256):
    g = G()
    T, H, D = 50, heads, dim // heads
    x = g.normalize("input")
    x = g.conv(x, 1, dim, patch, patch, pad=0)  # B,128,7,7
    x = g.op("Transpose", [g.op("Reshape", [x, g.i64(-1, dim, 49)])], perm=[0, 2, 1])  # B,49,C
    # cls token expanded to the runtime batch: Shape/Gather/Unsqueeze/Concat/Expand
    n = g.op("Gather", [g.op("Shape", [x]), g.const(np.array(0, np.int64), "idx")], axis=0)
    shp = g.op("Concat", [g.op("Unsqueeze", [n, g.i64(0)]), g.i64(1, dim)], axis=0)
    cls = g.op("Expand", [g.const(np.zeros((1, 1, dim), np.float32), "cls"), shp])
    x = g.op("Concat", [cls, x], axis=1)
    x = g.op("Add", [x, g.const((rng.standard_normal((1, T, dim)) * 0.02).astype(np.float32))])

    def ln(x):
        return g.op("LayerNormalization", [x, g.const(np.ones(dim, np.float32), "ln"),
                                           g.const(np.zeros(dim, np.float32), "ln")],
                    axis=-1, epsilon=1e-5)

    for _ in range(depth):
        h = g.linear(ln(x), dim, 3 * dim, gemm=False)
        h = g.op("Transpose", [g.op("Reshape", [h, g.i64(-1, T, 3, H, D)])], perm=[2, 0, 3, 1, 4])
        q, k, v = (g.op("Gather", [h, g.const(np.array(i, np.int64), "idx")], axis=0)
                   for i in range(3))
        a = g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])])
        a = g.op("Softmax", [g.op("Mul", [a, g.const(np.array(D ** -0.5, np.float32))])], axis=-1)
        o = g.op("Transpose", [g.op("MatMul", [a, v])], perm=[0, 2, 1, 3])
        o = g.linear(g.op("Reshape", [o, g.i64(-1, T, dim)]), dim, dim, gemm=False)
        x = g.op("Add", [x, o])
        h = g.linear(ln(x), dim, mlp, gemm=False)
        e = g.op("Erf", [g.op("Div", [h, g.const(np.array(np.sqrt(2.0), np.float32))])])
        h = g.op("Mul", [g.op("Mul", [h, g.op("Add", [e, g.const(np.array(1.0, np.float32))])]),
                         g.const(np.array(0.5, np.float32))])
        x = g.op("Add", [x, g.linear(h, mlp, dim, gemm=False)])
    x = g.op("Gather", [x, g.const(np.array(0, np.int64), "idx")], axis=1)  # cls token
    g.linear(ln(x), dim, 10)
    g.nodes[-1].output[0] = "logits"
    g.model("input", "logits", path)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build-bench", "synth")
    os.makedirs(out, exist_ok=True)
    cnn(os.path.join(out, "synth-cnn.onnx"))
    resnet(os.path.join(out, "synth-resnet.onnx"))
    vit(os.path.join(out, "synth-vit.onnx"))


if __name__ == "__main__":
    main()
