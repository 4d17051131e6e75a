#!/usr/bin/python3
"""What would back-substitution (CROWN) buy? A measurement prototype, not
the engine's analysis: bounds of every pre-activation of fmnist-resnet over
the input box [0, 1]^784 by CROWN-style back-substitution to the input
(Zhang et al. 2018: each Relu relaxed by its upper line where the
back-propagated coefficient is positive and by slope 0 or 1 where it is
negative, the exact linear maps in between), next to interval propagation
(the engine's rule), both against the range the test set spans.

Simplification (why it is a prototype): one back-substitution per channel,
from the centre element, with per-channel intermediate bounds (the hull
over the channel's elements) -- so it is exact only for elements whose
receptive field does not reach the border; the script checks the bounds
empirically on the test set and on uniform noise.

  /usr/bin/python3 tools/crown_probe.py [--noise 2000]
"""
import argparse
import sys
from pathlib import Path

import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import train_models as tm  # noqa: E402


def load_resnet():
    model = tm.FmnistResNet()
    onx = onnx.load(str(ROOT / "models" / "fmnist-resnet.onnx"))
    state = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in onx.graph.initializer}
    own = model.state_dict()
    model.load_state_dict({k: state.get(k, own[k]) for k in own})
    return model.eval()


def fold(conv, bn):
    s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    w = conv.weight * s[:, None, None, None]
    b = bn.bias - bn.running_mean * s
    if conv.bias is not None:
        b = b + conv.bias * s
    return w.detach().double(), b.detach().double(), conv.stride, conv.padding


class Net:
    """The ResNet as a list of nodes (topological): ('input',), ('conv', src, w, b, stride, pad),
    ('relu', src), ('add', a, b), ('gap', src), ('fc', src, w, b)."""

    def __init__(self, model):
        self.nodes = [("input",)]
        self.pre_relu = []  # node ids whose values are relaxed

        def add(n):
            self.nodes.append(n)
            return len(self.nodes) - 1

        def relu(src):
            self.pre_relu.append(src)
            return add(("relu", src))

        x = relu(add(("conv", 0) + fold(model.conv, model.bn)))
        for blk in model.layers:
            h = relu(add(("conv", x) + fold(blk.conv1, blk.bn1)))
            h = add(("conv", h) + fold(blk.conv2, blk.bn2))
            sc = x if blk.shortcut is None else add(("conv", x) + fold(blk.shortcut[0], blk.shortcut[1]))
            x = relu(add(("add", h, sc)))
        g = add(("gap", x))
        self.out = add(("fc", g, model.fc.weight.detach().double(), model.fc.bias.detach().double()))

    def forward(self, x):
        vals = [x]
        for n in self.nodes[1:]:
            if n[0] == "conv":
                vals.append(F.conv2d(vals[n[1]], n[2], n[3], stride=n[4], padding=n[5]))
            elif n[0] == "relu":
                vals.append(F.relu(vals[n[1]]))
            elif n[0] == "add":
                vals.append(vals[n[1]] + vals[n[2]])
            elif n[0] == "gap":
                vals.append(vals[n[1]].mean(dim=(2, 3)))
            else:
                vals.append(vals[n[1]] @ n[2].T + n[3])
        return vals


def ibp(net, lo, hi):
    L, U = [lo], [hi]
    for n in net.nodes[1:]:
        if n[0] in ("conv", "fc"):
            c, r = (L[n[1]] + U[n[1]]) / 2, (U[n[1]] - L[n[1]]) / 2
            if n[0] == "conv":
                cc = F.conv2d(c, n[2], n[3], stride=n[4], padding=n[5])
                rr = F.conv2d(r, n[2].abs(), None, stride=n[4], padding=n[5])
            else:
                cc, rr = c @ n[2].T + n[3], r @ n[2].abs().T
            L.append(cc - rr)
            U.append(cc + rr)
        elif n[0] == "relu":
            L.append(F.relu(L[n[1]]))
            U.append(F.relu(U[n[1]]))
        elif n[0] == "add":
            L.append(L[n[1]] + L[n[2]])
            U.append(U[n[1]] + U[n[2]])
        else:
            L.append(L[n[1]].mean(dim=(2, 3)))
            U.append(U[n[1]].mean(dim=(2, 3)))
    return L, U


def crown_upper(net, target, lam, lo, hi, bnd, shapes):
    """Upper bounds of lam . value[target] over the box (lam: [R, *shape] rows)."""
    R = lam.shape[0]
    coef = {target: lam}
    const = torch.zeros(R, dtype=torch.float64)
    for k in range(target, 0, -1):
        if k not in coef:
            continue
        a = coef.pop(k)
        n = net.nodes[k]
        if n[0] == "conv":
            src = n[1]
            x = torch.zeros((R,) + shapes[src][1:], dtype=torch.float64, requires_grad=True)
            y = F.conv2d(x, n[2], None, stride=n[4], padding=n[5])
            (g,) = torch.autograd.grad(y, x, grad_outputs=a)
            const += (a.sum(dim=(2, 3)) * n[3]).sum(dim=1)
            coef[src] = coef.get(src, 0) + g
        elif n[0] == "relu":
            src = n[1]
            l, u = bnd[src]
            unstable = (l < 0) & (u > 0)
            lam_up = torch.where(u <= 0, torch.zeros_like(u), torch.where(l >= 0, torch.ones_like(u), u / (u - l).clamp_min(1e-30)))
            alpha = torch.where(u <= 0, torch.zeros_like(u), torch.where(l >= 0, torch.ones_like(u), (u > -l).double()))
            pos, neg = a.clamp_min(0), a.clamp_max(0)
            coef[src] = coef.get(src, 0) + pos * lam_up + neg * alpha
            const += (pos * torch.where(unstable, -lam_up * l, torch.zeros_like(l))).flatten(1).sum(1)
        elif n[0] == "add":
            coef[n[1]] = coef.get(n[1], 0) + a
            coef[n[2]] = coef.get(n[2], 0) + a
        elif n[0] == "gap":
            s = shapes[n[1]]
            coef[n[1]] = coef.get(n[1], 0) + (a / (s[2] * s[3]))[:, :, None, None].expand((R,) + s[1:])
        else:
            const += a @ n[3]
            coef[n[1]] = coef.get(n[1], 0) + a @ n[2]
    a = coef[0]
    return const + (a.clamp_min(0) * hi + a.clamp_max(0) * lo).flatten(1).sum(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--noise", type=int, default=2000)
    args = ap.parse_args()
    torch.set_num_threads(2)
    net = Net(load_resnet())
    x_test, _ = tm.load_split("/usr/share/datasets/fashion-mnist", "t10k")
    norm = lambda x: ((x - tm.MEAN) / tm.STD).double()  # noqa: E731
    lo = norm(torch.zeros(1, 1, 28, 28))
    hi = norm(torch.ones(1, 1, 28, 28))
    with torch.no_grad():
        vals = net.forward(norm(x_test[:1]))
    shapes = [tuple(v.shape) for v in vals]
    L, U = ibp(net, lo, hi)
    bnd = {}
    # Per-channel CROWN bounds of every pre-activation, in order.
    for k in net.pre_relu + [net.out]:
        s = shapes[k]
        if len(s) == 4:
            C, H, W = s[1:]
            lam = torch.zeros((2 * C,) + s[1:], dtype=torch.float64)
            for c in range(C):
                lam[c, c, H // 2, W // 2] = 1
                lam[C + c, c, H // 2, W // 2] = -1
        else:
            C = s[1]
            lam = torch.cat([torch.eye(C), -torch.eye(C)]).double()
        ub = crown_upper(net, k, lam, lo, hi, bnd, shapes)
        u, l = ub[:C], -ub[C:]
        if len(s) == 4:
            # Intersect with the per-element interval, per channel.
            u = torch.minimum(u, U[k].amax(dim=(0, 2, 3)))
            l = torch.maximum(l, L[k].amin(dim=(0, 2, 3)))
            bnd[k] = (l[None, :, None, None].expand(s), u[None, :, None, None].expand(s))
        else:
            bnd[k] = (l[None], u[None])
    # Observed: test set, and a soundness probe with uniform noise.
    seen_lo, seen_hi = {}, {}
    outside = 0
    with torch.no_grad():
        for b in range(0, len(x_test), 500):
            v = net.forward(norm(x_test[b:b + 500]))
            for k in bnd:
                seen_lo[k] = min(seen_lo.get(k, 1e300), float(v[k].min()))
                seen_hi[k] = max(seen_hi.get(k, -1e300), float(v[k].max()))
        gen = torch.Generator().manual_seed(5)
        for b in range(0, args.noise, 500):
            x = torch.rand(min(500, args.noise - b), 1, 28, 28, generator=gen)
            for inputs in (norm(x_test[b:b + 500]), norm(x), norm(1 - x_test[b:b + 500])):
                v = net.forward(inputs)
                for k in bnd:
                    l, u = bnd[k]
                    outside += int(((v[k] < l - 1e-6 * (1 + l.abs())) | (v[k] > u + 1e-6 * (1 + u.abs()))).sum())
    print("fmnist-resnet over [0,1]^784: blow-up = bound width / test-set range")
    print(f"{'pre-activation':<16} {'test-set range':>24} {'interval width':>15} {'CROWN width':>13} {'IBP x':>9} {'CROWN x':>9}")
    names = {k: f"node {k} ({net.nodes[k][0]})" for k in bnd}
    worst_ibp = worst_crown = 0
    for k in bnd:
        r = max(seen_hi[k] - seen_lo[k], 1e-12)
        wi = float(U[k].max() - L[k].min())
        wc = float(bnd[k][1].max() - bnd[k][0].min())
        worst_ibp, worst_crown = max(worst_ibp, wi / r), max(worst_crown, wc / r)
        print(f"{names[k]:<16} [{seen_lo[k]:>10.4g}, {seen_hi[k]:>10.4g}] {wi:>15.4g} {wc:>13.4g} {wi / r:>9.3g} {wc / r:>9.3g}")
    print(f"worst blow-up: intervals {worst_ibp:.3g}, CROWN {worst_crown:.3g}; "
          f"{outside} elements outside the CROWN bounds over test, noise and inverted images")


if __name__ == "__main__":
    main()
