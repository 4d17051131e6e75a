#!/usr/bin/python3
"""How wide must any sound bound be? Projected gradient ascent over the input
box [0, 1]^784 pushes chosen activations of a bundled model to their
extremes: the values it reaches are *inside* the true range over the box, so
(reached range) / (test-set range) is a lower bound on the blow-up that any
sound range analysis of that constraint must show (docs/ANALYSIS.md, issue 11).

  /usr/bin/python3 tools/box_range_probe.py resnet [--steps 200] [--seed 0]

Prints, per probed value (every block output and the logits): the test-set
range, the widest range the search reached, their ratio."""
import argparse
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import train_models as tm  # noqa: E402


def load(kind):
    model = {"cnn": tm.FmnistCNN, "resnet": tm.FmnistResNet}[kind]()
    onx = onnx.load(str(ROOT / "models" / f"fmnist-{kind}.onnx"))
    state = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in onx.graph.initializer}
    own = model.state_dict()
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    if missing:
        sys.exit(f"box_range_probe: initializers missing from the ONNX file: {missing[:5]}")
    model.load_state_dict({k: state.get(k, own[k]) for k in own})
    return model.eval()


def probes(model, kind):
    """(name, module) whose output is probed."""
    if kind == "resnet":
        return [(f"layers.{i}", b) for i, b in enumerate(model.layers)]
    return [("conv1", model.conv1), ("conv2", model.conv2), ("fc1", model.fc1)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=["cnn", "resnet"])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--restarts", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(2)
    model = load(a.model)
    x_test, _ = tm.load_split("/usr/share/datasets/fashion-mnist", "t10k")
    outs = {}
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: outs.__setitem__(n, o))
             for n, m in probes(model, a.model)]
    with torch.no_grad():
        seen = {}
        logits = []
        for b in range(0, len(x_test), 1000):
            logits.append(model(x_test[b:b + 1000]))
            for n, o in outs.items():
                mn, mx = float(o.min()), float(o.max())
                p = seen.get(n, (np.inf, -np.inf))
                seen[n] = (min(p[0], mn), max(p[1], mx))
        lg = torch.cat(logits)
        seen["logits"] = (float(lg.min()), float(lg.max()))
    names = [n for n, _ in probes(model, a.model)] + ["logits"]
    print(f"fmnist-{a.model}: projected gradient ascent over [0,1]^784, {a.restarts} restarts x "
          f"{a.steps} steps, seed {a.seed}")
    print(f"{'value':<12} {'test-set range':>26} {'reached over the box':>30} {'ratio':>8}")
    for n in names:
        reached = list(seen[n])
        for sign in (1.0, -1.0):
            x = torch.rand(a.restarts, 1, 28, 28, requires_grad=True)
            opt = torch.optim.Adam([x], lr=0.05)
            for _ in range(a.steps):
                out = model(x)
                v = out if n == "logits" else outs[n]
                obj = (sign * v.flatten(1)).max(dim=1).values.sum()
                opt.zero_grad()
                (-obj).backward()
                opt.step()
                with torch.no_grad():
                    x.clamp_(0, 1)
            with torch.no_grad():
                out = model(x)
                v = out if n == "logits" else outs[n]
                reached[0] = min(reached[0], float(v.min()))
                reached[1] = max(reached[1], float(v.max()))
        t = seen[n]
        ratio = (reached[1] - reached[0]) / max(t[1] - t[0], 1e-12)
        print(f"{n:<12} [{t[0]:>11.4g}, {t[1]:>11.4g}] [{reached[0]:>13.4g}, {reached[1]:>13.4g}] "
              f"{ratio:>8.2f}")
    for h in hooks:
        h.remove()


if __name__ == "__main__":
    main()
