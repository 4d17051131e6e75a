#!/usr/bin/python3
"""Run a SAVE reference ONNX model with a tiny numpy interpreter and compare it
with the PyTorch reference logits in models/ref/<name>-logits256.npy.

onnx 1.12 (Debian bookworm) has no onnx.reference and there is no onnxruntime
package, so this independent evaluator checks that the exported graph computes
what PyTorch computed.  It supports exactly the ops the three models use.

  python3 tools/onnx_numpy_check.py models/fmnist-cnn.onnx [--n 64] [--tol 1e-4]
"""

import argparse
import gzip
import math
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

_erf = np.frompyfunc(math.erf, 1, 1)


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def conv(x, w, b, a):
    if a.get("group", 1) != 1:
        raise NotImplementedError("grouped Conv")
    strides = a.get("strides", [1, 1])
    pads = a.get("pads", [0, 0, 0, 0])
    dil = a.get("dilations", [1, 1])
    assert dil == [1, 1]
    n, c, h, wd = x.shape
    m, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    oh = (h + pads[0] + pads[2] - kh) // strides[0] + 1
    ow = (wd + pads[1] + pads[3] - kw) // strides[1] + 1
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i:i + strides[0] * oh:strides[0],
                                  j:j + strides[1] * ow:strides[1]]
    cols = cols.reshape(n, c * kh * kw, oh * ow)
    y = np.einsum("mk,nkp->nmp", w.reshape(m, -1), cols, optimize=True)
    y = y.reshape(n, m, oh, ow)
    if b is not None:
        y = y + b.reshape(1, m, 1, 1)
    return y.astype(np.float32)


def maxpool(x, a):
    k = a["kernel_shape"]
    s = a.get("strides", k)
    assert a.get("pads", [0, 0, 0, 0]) == [0, 0, 0, 0]
    n, c, h, w = x.shape
    oh, ow = (h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1
    out = np.full((n, c, oh, ow), -np.inf, dtype=x.dtype)
    for i in range(k[0]):
        for j in range(k[1]):
            out = np.maximum(out, x[:, :, i:i + s[0] * oh:s[0], j:j + s[1] * ow:s[1]])
    return out


def run(model, feeds):
    env = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    env.update(feeds)
    for node in model.graph.node:
        a = attrs(node)
        x = [env[i] if i else None for i in node.input]
        op = node.op_type
        if op == "Constant":
            y = numpy_helper.to_array(a["value"])
        elif op == "Identity":
            y = x[0]
        elif op in ("Add", "Sub", "Mul", "Div"):
            f = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[op]
            y = f(x[0], x[1]).astype(x[0].dtype)
        elif op == "Relu":
            y = np.maximum(x[0], 0)
        elif op == "Erf":
            y = _erf(x[0].astype(np.float64)).astype(np.float32)
        elif op == "Conv":
            y = conv(x[0], x[1], x[2] if len(x) > 2 else None, a)
        elif op == "MaxPool":
            y = maxpool(x[0], a)
        elif op == "GlobalAveragePool":
            y = x[0].mean(axis=(2, 3), keepdims=True)
        elif op == "BatchNormalization":
            xx, g, b, mean, var = x[:5]
            sh = (1, -1, 1, 1)
            y = ((xx - mean.reshape(sh)) / np.sqrt(var.reshape(sh) + a.get("epsilon", 1e-5))
                 * g.reshape(sh) + b.reshape(sh)).astype(np.float32)
        elif op == "Flatten":
            ax = a.get("axis", 1)
            y = x[0].reshape(int(np.prod(x[0].shape[:ax])), -1)
        elif op == "Gemm":
            aa, bb = x[0], x[1]
            if a.get("transA", 0):
                aa = aa.T
            if a.get("transB", 0):
                bb = bb.T
            y = a.get("alpha", 1.0) * (aa @ bb)
            if len(x) > 2 and x[2] is not None:
                y = y + a.get("beta", 1.0) * x[2]
            y = y.astype(np.float32)
        elif op == "MatMul":
            y = np.matmul(x[0], x[1])
        elif op == "Reshape":
            shape = [int(v) for v in x[1]]
            shape = [x[0].shape[i] if v == 0 else v for i, v in enumerate(shape)]
            y = x[0].reshape(shape)
        elif op == "Transpose":
            y = np.transpose(x[0], a.get("perm"))
        elif op == "Gather":
            y = np.take(x[0], x[1], axis=a.get("axis", 0))
        elif op == "Slice":
            starts, ends = x[1], x[2]
            axes = x[3] if len(x) > 3 and x[3] is not None else range(len(starts))
            steps = x[4] if len(x) > 4 and x[4] is not None else [1] * len(starts)
            sl = [slice(None)] * x[0].ndim
            for s, e, ax, st in zip(starts, ends, axes, steps):
                sl[int(ax)] = slice(int(s), int(min(e, 2**62)), int(st))
            y = x[0][tuple(sl)]
        elif op == "Concat":
            y = np.concatenate(x, axis=a["axis"])
        elif op == "Softmax":
            ax = a.get("axis", -1)
            e = np.exp(x[0] - x[0].max(axis=ax, keepdims=True))
            y = e / e.sum(axis=ax, keepdims=True)
        elif op == "LayerNormalization":
            ax = a.get("axis", -1)
            axes = tuple(range(ax % x[0].ndim, x[0].ndim))
            mu = x[0].mean(axis=axes, keepdims=True)
            var = ((x[0] - mu) ** 2).mean(axis=axes, keepdims=True)
            y = (x[0] - mu) / np.sqrt(var + a.get("epsilon", 1e-5)) * x[1]
            if len(x) > 2 and x[2] is not None:
                y = y + x[2]
            y = y.astype(np.float32)
        else:
            raise NotImplementedError(op)
        env[node.output[0]] = np.asarray(y)
    return [env[o.name] for o in model.graph.output]


def load_test_images(data_dir, n):
    with gzip.open(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz"), "rb") as f:
        data = f.read()
    imgs = np.frombuffer(data, dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)
    return (imgs[:n].astype(np.float32) / 255.0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("onnx_file")
    p.add_argument("--n", type=int, default=64, help="images to check (<= 256)")
    p.add_argument("--tol", type=float, default=1e-4, help="max abs logit difference")
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    args = p.parse_args()
    model = onnx.load(args.onnx_file)
    onnx.checker.check_model(model)
    name = os.path.basename(args.onnx_file)[:-len(".onnx")]
    ref_dir = os.path.join(os.path.dirname(args.onnx_file), "ref")
    ref = np.load(os.path.join(ref_dir, name + "-logits256.npy"))[:args.n]
    x = load_test_images(args.data_dir, args.n)
    (logits,) = run(model, {"input": x})
    diff = float(np.abs(logits - ref).max())
    same = int((logits.argmax(1) == ref.argmax(1)).sum())
    print("%s: %d images, max |logit diff| %.3g, argmax agree %d/%d" % (
        name, args.n, diff, same, args.n))
    return 0 if diff <= args.tol and same == args.n else 1


if __name__ == "__main__":
    sys.exit(main())
