#!/usr/bin/env python3
"""Prints the markdown tables of docs/RESULTS.md from campaign folders.

Usage: /usr/bin/python3 tools/results_tables.py results/inject/fmnist-cnn [...]
Reads each folder's summary.json (accuracy per series and flip count) and
sweep.json (share of single flips per bit position that change top-1).
"""
import json
import os
import sys


def accuracy_table(dirs):
    rows = {}
    flips = set()
    for d in dirs:
        s = json.load(open(os.path.join(d, "summary.json")))
        name = os.path.basename(os.path.normpath(d))
        for series in s["series"]:
            key = (name, series["pattern"], series["scenario"], series["target"])
            for p in series["points"]:
                flips.add(p["flips"])
                rows.setdefault(key, {})[p["flips"]] = p
    flips = sorted(flips)
    out = ["| model | pattern / scenario / target | " + " | ".join(f"{f:,}" for f in flips) + " |",
           "|---|---|" + "---:|" * len(flips)]
    for key in sorted(rows):
        cells = []
        for f in flips:
            p = rows[key].get(f)
            cells.append("" if p is None else
                         f"{100 * p['accuracy_mean']:.1f} ({100 * p['accuracy_min']:.1f})")
        out.append(f"| {key[0]} | {key[1]} / {key[2]} / {key[3]} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def sweep_table(dirs):
    header = "| bit | " + " | ".join(os.path.basename(os.path.normpath(d)) for d in dirs) + " |"
    out = [header, "|---:|" + "---:|" * len(dirs)]
    sweeps = [json.load(open(os.path.join(d, "sweep.json"))) for d in dirs]
    for bit in range(32):
        cells = []
        for s in sweeps:
            b = next(x for x in s["by_bit"] if x["bit"] == bit)
            cells.append(f"{100 * b['top1_share']:.2f}% ({b['top1_changed']}/{b['swept']})")
        out.append(f"| {bit} | " + " | ".join(cells) + " |")
    out.append("| sampled bits | " + " | ".join(
        f"{s['swept_bits']:,} of {s['population_bits']:,}" for s in sweeps) + " |")
    return "\n".join(out)


def main():
    dirs = sys.argv[1:]
    print("### Accuracy (%) under flips: mean over trials (minimum)\n")
    print(accuracy_table(dirs))
    sweep_dirs = [d for d in dirs if os.path.exists(os.path.join(d, "sweep.json"))]
    if sweep_dirs:
        print("\n### Share of single weight-bit flips that change a top-1 prediction\n")
        print(sweep_table(sweep_dirs))


if __name__ == "__main__":
    main()
