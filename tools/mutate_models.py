#!/usr/bin/env python3
"""Mutated models for the hostile-input check (docs/RELIABILITY.md).

Writes N mutants of the given ONNX files (default: the bundled fmnist-cnn,
tests/data/*.onnx and tests/data/bad/*.onnx) to OUT/, deterministically from
--seed, and with --run SAVE runs `SAVE analyze` on each: every mutant must
end with exit code 0 or 1 (an error line), never a signal or a timeout.

Mutations, one to four per mutant: flip a random bit, overwrite a byte with
an interesting value (0x00, 0xff, 0x7f, 0x80), truncate, duplicate or delete
a span, and rewrite a protobuf varint in place with a huge, negative or zero
value (dims, data types, counts, lengths) — the last reaches far past the
parser, which random bytes rarely do.

  python3 tools/mutate_models.py --count 5000 --out /tmp/mutants --run build/src/save
"""
import argparse
import glob
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
INTERESTING = [0, (1 << 31), (1 << 62) + 4, (1 << 64) - 1, (1 << 63), 1 << 40, 7, 0x7FFFFFFF]


from make_bad_inputs import varint  # noqa: E402 (same folder: one protobuf varint writer)


def varint_spans(data, rng, tries=64):
    """(start, end) of bytes that decode as a varint (a guess: protobuf has no index)."""
    spans = []
    for _ in range(tries):
        i = rng.randrange(len(data))
        j = i
        while j < len(data) and data[j] & 0x80 and j - i < 10:
            j += 1
        if j < len(data):
            spans.append((i, j + 1))
    return spans


def mutate(data, rng):
    d = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not d:
            d = bytearray(b"\x08")
        op = rng.randrange(6)
        i = rng.randrange(len(d))
        if op == 0:
            d[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            d[i] = rng.choice([0x00, 0xFF, 0x7F, 0x80])
        elif op == 2:
            del d[rng.randrange(1, len(d) + 1):]
        elif op == 3:
            j = min(len(d), i + rng.randint(1, 64))
            d[i:i] = d[i:j]
        elif op == 4:
            j = min(len(d), i + rng.randint(1, 64))
            del d[i:j]
        else:
            spans = varint_spans(d, rng)
            if spans:
                a, b = rng.choice(spans)
                d[a:b] = varint(rng.choice(INTERESTING + [rng.getrandbits(64)]))
    return bytes(d)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--run", help="the save binary: run `analyze` on every mutant")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("models", nargs="*")
    a = ap.parse_args()
    models = a.models or ([os.path.join(ROOT, "models", "fmnist-cnn.onnx")] +
                          sorted(glob.glob(os.path.join(ROOT, "tests", "data", "*.onnx"))) +
                          sorted(glob.glob(os.path.join(ROOT, "tests", "data", "bad", "*.onnx"))))
    sources = [open(m, "rb").read() for m in models]
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    counts = {"ok": 0, "error": 0}
    bad = []
    for k in range(a.count):
        path = os.path.join(a.out, "mutant_%05d.onnx" % k)
        with open(path, "wb") as f:
            f.write(mutate(rng.choice(sources), rng))
        if not a.run:
            continue
        env = dict(os.environ, OMP_NUM_THREADS="1")
        try:
            p = subprocess.run([a.run, "analyze", path, "--max-memory", "2GiB"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               timeout=a.timeout)
            err = p.stderr.decode(errors="replace")
            if p.returncode == 0:
                counts["ok"] += 1
            elif p.returncode == 1 and err.startswith("error: ") and err.count("\n") == 1:
                counts["error"] += 1
            else:
                bad.append((path, "exit %d: %s" % (p.returncode, err.strip()[-300:])))
        except subprocess.TimeoutExpired:
            bad.append((path, "timeout after %g s" % a.timeout))
        if (k + 1) % 500 == 0:
            print("%d mutants: %d ran, %d one-line errors, %d findings" %
                  (k + 1, counts["ok"], counts["error"], len(bad)), flush=True)
    if a.run:
        print("%d mutants of %d models: %d ran, %d one-line errors, %d findings" %
              (a.count, len(models), counts["ok"], counts["error"], len(bad)))
        for path, why in bad:
            print("FINDING %s: %s" % (path, why))
        sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
