#!/usr/bin/python3
"""Train the three Fashion-MNIST reference models of SAVE and export them to ONNX.

Models (all: input `input` N x 1 x 28 x 28 float32 raw pixels in [0, 1],
normalisation (x - 0.2860) / 0.3530 inside the graph, output `logits` N x 10):

  cnn     2 conv + 2 fully connected layers
  resnet  ResNet-20 style (3 stages x 3 basic blocks, widths 32/64/128)
  vit     small Vision Transformer (patch 4, dim 128, depth 6, 4 heads)

For every model the script writes
  <out>/fmnist-<model>.onnx            opset 17, dynamic batch axis
  <out>/ref/<name>-labels.txt          PyTorch argmax for the 10,000 test images
  <out>/ref/<name>-logits256.npy       float32 logits of the first 256 test images
  <out>/ref/<name>-accuracy.txt        PyTorch test accuracy
  <out>/ref/<name>-info.json           params, FLOPs, accuracy, sha256, command, timing
where <name> is fmnist-<model>.  Checkpoints go to --ckpt-dir (default /tmp).

Data: the IDX gzip files of Debian's dataset-fashion-mnist package
(/usr/share/datasets/fashion-mnist), read with gzip + numpy.
"""

import argparse
import gzip
import hashlib
import json
import math
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN = 0.2860
STD = 0.3530
NUM_CLASSES = 10

# Per-model defaults: epochs, learning rate, weight decay, label smoothing, flips.
RECIPES = {
    "cnn": dict(epochs=4, lr=2e-3, wd=1e-4, smoothing=0.0, flip=False),
    "resnet": dict(epochs=3, lr=1e-3, wd=1e-4, smoothing=0.0, flip=True),
    "vit": dict(epochs=8, lr=2e-3, wd=0.05, smoothing=0.1, flip=True),
}


# --------------------------------------------------------------------------- data

def read_idx(path):
    """Read an IDX file (optionally gzip-compressed) into a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = data[0] * 256 + data[1], data[2], data[3]
    if zero != 0 or dtype_code != 0x08:
        raise ValueError("%s: not an unsigned-byte IDX file" % path)
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError("%s: size mismatch" % path)
    return arr.reshape(dims)


def load_split(data_dir, split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(data_dir, prefix + "-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, prefix + "-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)  # N,1,28,28
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


# --------------------------------------------------------------------------- models

class BoundedReLU(nn.Module):
    """RedNet-style bounded activation (--activation rednet): min(relu(x), T)
    with a trainable per-channel upper bound T (shape C,1,1 after a conv, C
    after a linear layer), learned with the weights (PACT-style gradient: dT
    gets the upstream gradient of every element above T) and weight-decayed so
    it settles near the activations' real range.  A bit flip that makes a
    pre-activation huge can then push at most T downstream.  Exported as Relu
    followed by Min with an initializer, so the graph still runs unprotected."""

    def __init__(self, channels, spatial, init=6.0):
        super().__init__()
        shape = (channels, 1, 1) if spatial else (channels,)
        self.bound = nn.Parameter(torch.full(shape, init))

    def forward(self, x):
        return torch.minimum(F.relu(x), self.bound)


class BoundedGELU(BoundedReLU):
    """The ViT's variant: GELU is not ReLU-like (negative tail), so only its
    upper side is bounded: min(gelu(x), T)."""

    def forward(self, x):
        return torch.minimum(F.gelu(x), self.bound)


def make_act(channels, spatial, bounded):
    """The activation after a layer with `channels` outputs: plain ReLU for
    the original models (exports exactly as F.relu did), the bounded one for
    --activation rednet."""
    return BoundedReLU(channels, spatial) if bounded else nn.ReLU()


class Normalize(nn.Module):
    """(x - MEAN) / STD: exported as Sub + Div, the first ops of every graph."""

    def forward(self, x):
        return (x - MEAN) / STD


class FmnistCNN(nn.Module):
    def __init__(self, bounded=False):
        super().__init__()
        self.norm = Normalize()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, NUM_CLASSES)
        self.act1 = make_act(32, True, bounded)
        self.act2 = make_act(64, True, bounded)
        self.act3 = make_act(128, False, bounded)

    def forward(self, x):
        x = self.norm(x)
        x = F.max_pool2d(self.act1(self.conv1(x)), 2)
        x = F.max_pool2d(self.act2(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = self.act3(self.fc1(x))
        return self.fc2(x)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, bounded=False):
        super().__init__()
        self.act1 = make_act(cout, True, bounded)
        self.act2 = make_act(cout, True, bounded)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        sc = x if self.shortcut is None else self.shortcut(x)
        return self.act2(out + sc)


class FmnistResNet(nn.Module):
    def __init__(self, widths=(32, 64, 128), blocks=3, bounded=False):
        super().__init__()
        self.norm = Normalize()
        self.conv = nn.Conv2d(1, widths[0], 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(widths[0])
        self.act = make_act(widths[0], True, bounded)
        layers, cin = [], widths[0]
        for i, w in enumerate(widths):
            for j in range(blocks):
                stride = 2 if (i > 0 and j == 0) else 1
                layers.append(BasicBlock(cin, w, stride, bounded))
                cin = w
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(widths[-1], NUM_CLASSES)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.norm(x)
        x = self.act(self.bn(self.conv(x)))
        x = self.layers(x)
        x = F.adaptive_avg_pool2d(x, 1)  # exported as GlobalAveragePool
        x = torch.flatten(x, 1)
        return self.fc(x)


class Attention(nn.Module):
    """Multi-head self-attention written with plain MatMul / Softmax / Reshape /
    Transpose so that the exported graph needs no fused attention op.  Shapes
    use Python constants (batch = -1) to keep Shape ops out of the graph."""

    def __init__(self, dim, heads, tokens):
        super().__init__()
        self.dim, self.heads, self.tokens = dim, heads, tokens
        self.head_dim = dim // heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):  # x: B, T, C
        T, H, D = self.tokens, self.heads, self.head_dim
        qkv = self.qkv(x).reshape(-1, T, 3, H, D).permute(2, 0, 3, 1, 4)  # 3,B,H,T,D
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = torch.matmul(q, k.transpose(-2, -1)) * self.scale  # B,H,T,T
        attn = torch.softmax(attn, dim=-1)
        out = torch.matmul(attn, v)  # B,H,T,D
        out = out.transpose(1, 2).reshape(-1, T, self.dim)
        return self.proj(out)


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_hidden, tokens, bounded=False):
        super().__init__()
        self.bounded = bounded
        if bounded:  # a (hidden,) bound broadcasts over batch and tokens
            self.act = BoundedGELU(mlp_hidden, False)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, tokens)
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, mlp_hidden)
        self.fc2 = nn.Linear(mlp_hidden, dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        h = self.fc1(self.norm2(x))
        h = self.act(h) if self.bounded else F.gelu(h)  # exact (erf) GELU
        x = x + self.fc2(h)
        return x


class FmnistViT(nn.Module):
    def __init__(self, patch=4, dim=128, depth=6, heads=4, mlp_hidden=256, bounded=False):
        super().__init__()
        self.grid = 28 // patch
        self.num_patches = self.grid * self.grid  # 49
        self.tokens = self.num_patches + 1  # + cls
        self.dim = dim
        self.norm = Normalize()
        self.patch_embed = nn.Conv2d(1, dim, patch, stride=patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.tokens, dim))
        self.blocks = nn.Sequential(
            *[Block(dim, heads, mlp_hidden, self.tokens, bounded) for _ in range(depth)])
        self.norm_f = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, NUM_CLASSES)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.norm(x)
        x = self.patch_embed(x)  # B,C,7,7
        x = x.reshape(-1, self.dim, self.num_patches).transpose(1, 2)  # B,49,C
        # Batch-sized copy of the cls token without Shape/Expand ops in the graph:
        # a zero B,1,C tensor from Slice + Mul(0), plus the (broadcast) cls token.
        # Identical to cls_token.expand(B, 1, C) for finite inputs.
        cls = x[:, :1, :] * 0.0 + self.cls_token  # B,1,C
        x = torch.cat([cls, x], dim=1) + self.pos_embed  # B,50,C
        x = self.blocks(x)
        x = self.norm_f(x[:, 0])  # cls token
        return self.head(x)


MODELS = {"cnn": FmnistCNN, "resnet": FmnistResNet, "vit": FmnistViT}

ARCH_TEXT = {
    "cnn": "Sub/Div normalisation; conv3x3 1->32 pad1, ReLU, maxpool2; conv3x3 32->64 pad1, "
           "ReLU, maxpool2; flatten; fc 3136->128, ReLU; fc 128->10",
    "resnet": "Sub/Div normalisation; stem conv3x3 1->32 + BN + ReLU; 3 stages x 3 basic blocks "
              "(conv3x3-BN-ReLU-conv3x3-BN + shortcut, ReLU), widths 32/64/128, stride 2 in the "
              "first block of stages 2 and 3 with 1x1 conv + BN shortcut; global average pool; "
              "fc 128->10",
    "vit": "Sub/Div normalisation; patch embedding conv4x4 stride 4 1->128 (49 patches); cls "
           "token + learned position embedding (50 tokens); 6 pre-norm blocks (LayerNorm, 4-head "
           "self-attention with hand-written MatMul/Softmax, LayerNorm, MLP 128->256->128 with "
           "exact erf GELU); final LayerNorm on the cls token; head 128->10",
}


REDNET_TEXT = ("; --activation rednet: every ReLU replaced by min(relu(x), T) with a trainable "
               "per-channel bound T (Relu + Min in ONNX); the ViT's GELU by min(gelu(x), T)")


# --------------------------------------------------------------------------- FLOPs

def count_flops(model):
    """FLOPs per image = 2 x multiply-adds of conv / linear / matmul layers only
    (normalisation, BN, activations, pooling, softmax, LayerNorm not counted)."""
    total = [0]
    hooks = []

    def conv_hook(m, inp, out):
        k = m.kernel_size[0] * m.kernel_size[1] * m.in_channels // m.groups
        total[0] += 2 * out[0].numel() * k

    def linear_hook(m, inp, out):
        total[0] += 2 * out[0].numel() * m.in_features

    def attn_hook(m, inp, out):
        # QK^T and attn@V: each heads * T * T * head_dim multiply-adds
        total[0] += 2 * 2 * m.heads * m.tokens * m.tokens * m.head_dim

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
        elif isinstance(m, Attention):
            hooks.append(m.register_forward_hook(attn_hook))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, 28, 28))
    model.train(was_training)
    for h in hooks:
        h.remove()
    return total[0]


# --------------------------------------------------------------------------- training

def evaluate(model, x, y, batch=1000):
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            outs.append(model(x[i:i + batch]))
    logits = torch.cat(outs)
    pred = logits.argmax(1)
    acc = (pred == y).float().mean().item()
    return logits, pred, acc


def train(name, model, args, recipe, xtr, ytr, xte, yte, log):
    epochs = args.epochs if args.epochs is not None else recipe["epochs"]
    lr = args.lr if args.lr is not None else recipe["lr"]
    bs = args.batch_size
    steps_per_epoch = math.ceil(xtr.shape[0] / bs)
    if args.limit_train_batches:
        steps_per_epoch = min(steps_per_epoch, args.limit_train_batches)
    total_steps = epochs * steps_per_epoch

    decay, no_decay = [], []
    for pname, p in model.named_parameters():
        # no weight decay on biases, norm parameters, cls token, position embedding;
        # RedNet's activation bounds are decayed so they tighten to the real range
        bound = pname.endswith(".bound")
        (no_decay if (p.ndim <= 1 and not bound) or pname in ("cls_token", "pos_embed")
         else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": recipe["wd"]},
                             {"params": no_decay, "weight_decay": 0.0}], lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total_steps)
    crit = nn.CrossEntropyLoss(label_smoothing=recipe["smoothing"])
    gen = torch.Generator().manual_seed(args.seed)
    history = []

    # Resumable training state (saved every --save-every steps and after every
    # epoch): resuming reproduces the uninterrupted run bit for bit.
    state_path = os.path.join(args.ckpt_dir, "%s-train.pt" % name)
    config = {"epochs": epochs, "lr": lr, "batch_size": bs, "seed": args.seed,
              "steps_per_epoch": steps_per_epoch}
    start_epoch, start_step, perm, running, seen = 0, 0, None, 0.0, 0
    elapsed, epoch_elapsed = 0.0, 0.0
    if args.resume and os.path.exists(state_path):
        st = torch.load(state_path)
        if st["config"] != config:
            raise SystemExit("%s: %s was made with %s, not %s" % (
                name, state_path, st["config"], config))
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        sched.load_state_dict(st["sched"])
        gen.set_state(st["gen"])
        start_epoch, start_step, perm = st["epoch"], st["step"], st["perm"]
        running, seen, history = st["running"], st["seen"], st["history"]
        elapsed, epoch_elapsed = st["elapsed"], st["epoch_elapsed"]
        log("%s: resumed from %s at epoch %d step %d" % (
            name, state_path, start_epoch + 1, start_step))

    def save_state(epoch, step):
        tmp = state_path + ".tmp"
        torch.save({"config": config, "model": model.state_dict(), "opt": opt.state_dict(),
                    "sched": sched.state_dict(), "gen": gen.get_state(), "epoch": epoch,
                    "step": step, "perm": perm, "running": running, "seen": seen,
                    "history": history, "elapsed": elapsed + time.time() - t_run,
                    "epoch_elapsed": epoch_elapsed + time.time() - t0}, tmp)
        os.replace(tmp, state_path)

    t_run = time.time()
    steps_this_run = 0
    for epoch in range(start_epoch, epochs):
        model.train()
        t0 = time.time()
        if perm is None:
            perm = torch.randperm(xtr.shape[0], generator=gen)
            running, seen, epoch_elapsed = 0.0, 0, 0.0
        for step in range(start_step, steps_per_epoch):
            idx = perm[step * bs:(step + 1) * bs]
            xb, yb = xtr[idx], ytr[idx]
            if recipe["flip"]:
                flip = torch.rand(xb.shape[0], generator=gen) < 0.5
                xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = crit(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            running += loss.item() * xb.shape[0]
            seen += xb.shape[0]
            if (step + 1) % 100 == 0:
                log("  %s epoch %d step %d/%d loss %.4f lr %.2e (%.0fs)" % (
                    name, epoch + 1, step + 1, steps_per_epoch, running / seen,
                    sched.get_last_lr()[0], epoch_elapsed + time.time() - t0))
            if args.save_every and (step + 1) % args.save_every == 0 \
                    and step + 1 < steps_per_epoch:
                save_state(epoch, step + 1)
            steps_this_run += 1
            if args.stop_after and steps_this_run >= args.stop_after \
                    and step + 1 < steps_per_epoch:
                save_state(epoch, step + 1)
                log("%s: stopping after %d steps (--stop-after); continue with --resume" % (
                    name, steps_this_run))
                sys.exit(3)
        start_step = 0
        _, _, acc = evaluate(model, xte, yte)
        dt = epoch_elapsed + time.time() - t0
        history.append({"epoch": epoch + 1, "train_loss": running / seen,
                        "test_acc": acc, "seconds": round(dt, 1)})
        log("%s epoch %d: train loss %.4f, test acc %.2f%%, %.0fs" % (
            name, epoch + 1, running / seen, 100 * acc, dt))
        ckpt = os.path.join(args.ckpt_dir, "%s.pt" % name)
        torch.save({"model": model.state_dict(), "epoch": epoch + 1, "test_acc": acc}, ckpt)
        perm = None
        t0, epoch_elapsed = time.time(), 0.0
        save_state(epoch + 1, 0)
    args.train_seconds = elapsed + time.time() - t_run
    return epochs, lr, history


# --------------------------------------------------------------------------- export

def export_onnx(model, kind, path):
    model.eval()
    # Constant folding only for the ViT: it turns the Transpose of every Linear
    # weight (MatMul path for 3-D inputs) into pre-transposed initializers.  The
    # CNN and ResNet are exported unfolded (nothing to fold there anyway).
    fold = kind == "vit"
    dummy = torch.zeros(2, 1, 28, 28)
    # TrainingMode.EVAL runs torch's eval peephole, which fuses Conv+BatchNorm.
    # PRESERVE with the model in eval mode exports inference-mode BatchNormalization
    # nodes instead, so the BN layers stay visible in the ResNet graph.
    torch.onnx.export(
        model, dummy, path,
        export_params=True,
        opset_version=17,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        do_constant_folding=fold,
        training=torch.onnx.TrainingMode.PRESERVE,
    )
    inline_identity_initializers(path)


def inline_identity_initializers(path):
    """torch.onnx deduplicates initializers with identical values and feeds the
    duplicates through Identity nodes.  In the ResNet the BN biases of the two
    branches of each downsampling block are bit-identical (same zero init and
    same gradient, since both are added to the same sum), so BatchNormalization
    would get a bias from an Identity node.  Replace each Identity whose input is
    an initializer by a copy of that initializer under the Identity's output name,
    so every weight is a plain initializer again."""
    import onnx
    m = onnx.load(path)
    inits = {t.name: t for t in m.graph.initializer}
    keep, changed = [], False
    for node in m.graph.node:
        if node.op_type == "Identity" and node.input[0] in inits:
            t = onnx.TensorProto()
            t.CopyFrom(inits[node.input[0]])
            t.name = node.output[0]
            m.graph.initializer.append(t)
            changed = True
        else:
            keep.append(node)
    if changed:
        del m.graph.node[:]
        m.graph.node.extend(keep)
        onnx.save(m, path)


def check_onnx(path):
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})
    counts = {}
    for n in m.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    inputs = [i.name for i in m.graph.input]
    outputs = [o.name for o in m.graph.output]
    return ops, counts, inputs, outputs, len(m.graph.initializer)


def onnx_reference_check(path, x):
    """Run the ONNX graph with onnx.reference if it exists (onnx >= 1.13); else skip."""
    try:
        from onnx.reference import ReferenceEvaluator  # noqa: F401
    except ImportError:
        return None
    import onnx
    sess = ReferenceEvaluator(onnx.load(path))
    return sess.run(None, {"input": x})[0]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- main

def run_one(kind, args, data, log):
    bounded = args.activation == "rednet"
    name = "fmnist-" + kind + ("-rednet" if bounded else "")
    recipe = RECIPES[kind]
    xtr, ytr, xte, yte = data
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    model = MODELS[kind](bounded=bounded)
    params = sum(p.numel() for p in model.parameters())
    flops = count_flops(model)
    log("%s: %d parameters, %d FLOPs/image" % (name, params, flops))

    ckpt = os.path.join(args.ckpt_dir, "%s.pt" % name)
    if args.export_only:
        state = torch.load(ckpt)
        model.load_state_dict(state["model"])
        info_path = os.path.join(args.out, "ref", name + "-info.json")
        prev = json.load(open(info_path)) if os.path.exists(info_path) else {}
        epochs, history = state["epoch"], prev.get("history", [])
        lr = args.lr if args.lr is not None else recipe["lr"]
        train_s = prev.get("train_seconds", 0.0)
        args.command_line = prev.get("command", args.command_line)
        args.limit_train_batches = prev.get("limit_train_batches", args.limit_train_batches)
        log("%s: loaded %s (epoch %d), export only" % (name, ckpt, epochs))
    else:
        epochs, lr, history = train(name, model, args, recipe, xtr, ytr, xte, yte, log)
        train_s = args.train_seconds  # summed over resumed runs

    model.eval()
    logits, pred, acc = evaluate(model, xte, yte)
    log("%s: final PyTorch test accuracy %.2f%%" % (name, 100 * acc))

    out = args.out
    ref = os.path.join(out, "ref")
    os.makedirs(ref, exist_ok=True)
    onnx_path = os.path.join(out, name + ".onnx")
    export_onnx(model, kind, onnx_path)
    ops, counts, inputs, outputs, n_init = check_onnx(onnx_path)
    size = os.path.getsize(onnx_path)
    digest = sha256(onnx_path)
    log("%s: ONNX %s, %d bytes, sha256 %s" % (name, onnx_path, size, digest))
    log("%s: inputs %s outputs %s, %d initializers, ops %s" % (name, inputs, outputs, n_init, counts))
    if size > 5 * 1024 * 1024:
        log("WARNING: %s is larger than 5 MB" % onnx_path)

    with open(os.path.join(ref, name + "-labels.txt"), "w") as f:
        f.write("".join("%d\n" % int(p) for p in pred.tolist()))
    logits256 = logits[:256].numpy().astype(np.float32)
    np.save(os.path.join(ref, name + "-logits256.npy"), logits256)
    with open(os.path.join(ref, name + "-accuracy.txt"), "w") as f:
        f.write("%.4f\n" % acc)

    ref_out = onnx_reference_check(onnx_path, xte[:8].numpy())
    if ref_out is not None:
        diff = float(np.abs(ref_out - logits256[:8]).max())
        log("%s: onnx.reference max |diff| vs PyTorch on 8 images: %.3g" % (name, diff))

    info = {
        "name": name,
        "file": name + ".onnx",
        "architecture": ARCH_TEXT[kind] + (REDNET_TEXT if bounded else ""),
        "activation": args.activation,
        "parameters": params,
        "flops_per_image": flops,
        "flops_note": "2 x multiply-adds of conv, linear (Gemm/MatMul) and attention MatMul",
        "test_accuracy": round(acc, 4),
        "test_correct": int((pred == yte).sum().item()),
        "onnx_bytes": size,
        "onnx_sha256": digest,
        "onnx_ops": counts,
        "opset": 17,
        "epochs": epochs,
        "batch_size": args.batch_size,
        "optimizer": "AdamW lr %g weight_decay %g (not on biases/norms/cls/pos), OneCycleLR" % (
            lr, recipe["wd"]),
        "label_smoothing": recipe["smoothing"],
        "random_hflip": recipe["flip"],
        "limit_train_batches": args.limit_train_batches,
        "history": history,
        "seed": args.seed,
        "threads": args.threads,
        "train_seconds": round(train_s, 1),
        "command": args.command_line,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "machine": platform.machine(),
    }
    with open(os.path.join(ref, name + "-info.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    return info


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=["cnn", "resnet", "vit", "all"], default="all")
    p.add_argument("--activation", choices=["relu", "rednet"], default="relu",
                   help="rednet: train with RedNet-style bounded activations and write "
                        "fmnist-<model>-rednet.onnx (+ refs)")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs (default per model: cnn 4, resnet 3, vit 8)")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (default per model)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="models")
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--ckpt-dir", default="/tmp")
    p.add_argument("--limit-train-batches", type=int, default=0,
                   help="train on only this many batches per epoch (smoke test)")
    p.add_argument("--resume", action="store_true",
                   help="continue from <ckpt-dir>/fmnist-<model>-train.pt if it exists")
    p.add_argument("--save-every", type=int, default=50,
                   help="save the resumable training state every N steps (0: per epoch only)")
    p.add_argument("--stop-after", type=int, default=0,
                   help="save the state and exit (status 3) after N steps in this run")
    p.add_argument("--export-only", action="store_true",
                   help="skip training: load <ckpt-dir>/fmnist-<model>.pt, export and write refs")
    args = p.parse_args(argv)
    args.command_line = " ".join(["python3"] + [os.path.relpath(sys.argv[0])] + sys.argv[1:])

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.ckpt_dir, exist_ok=True)

    def log(msg):
        print(time.strftime("%H:%M:%S ") + msg, flush=True)

    data = load_split(args.data_dir, "train") + load_split(args.data_dir, "test")
    log("data: train %s test %s" % (tuple(data[0].shape), tuple(data[2].shape)))
    kinds = ["cnn", "resnet", "vit"] if args.model == "all" else [args.model]
    for kind in kinds:
        run_one(kind, args, data, log)


if __name__ == "__main__":
    main()
