#!/usr/bin/env python3
"""Condensed side-by-side table for docs/RESULTS.md from `save eval` folders.

Usage: tools/eval_tables.py results/eval/fmnist-cnn [results/eval/fmnist-resnet ...]
Per model and mode: accuracy fault-free and at 4,096 / 16,384 flips
(accumulated, streaming), AccurateLatency at 4,096 flips relative to the
unprotected fault-free latency of the same eval, false alarms on clean and
out-of-distribution inputs, reliable memory. Standard library only.
"""
import json
import os
import sys


def main():
    for folder in sys.argv[1:]:
        j = json.load(open(os.path.join(folder, "results.json")))
        name = os.path.basename(folder.rstrip("/"))
        print(f"**{name}** ({j['samples']} images, batch {j['batch']}, {j['trials']} trial, "
              f"seed {j['seed']}, OOD {j['ood_samples']} inputs per set, whole eval "
              f"{j['seconds']:.0f} s)\n")
        print("| mode | acc. fault-free | acc. @4,096 acc. / str. | acc. @16,384 acc. / str. | "
              "AccLat @4,096 acc. / str. (x none) | false alarms clean / OOD | OOD wrong outputs | "
              "reliable memory |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for m in j["modes"]:
            if "points" not in m:
                why = m.get("skipped") or m.get("reason") or m.get("note") or "not run"
                print(f"| {m['mode']} | skipped: {why} | | | | | | |")
                continue
            pts = {(p["scenario"], p["flips"]): p for p in m["points"]}

            def acc(s, f):
                p = pts.get((s, f))
                return f"{100 * p['accuracy_mean']:.2f}%" if p else "-"

            def lat(s, f):
                p = pts.get((s, f))
                return f"{p['accurate_latency_vs_none']:.2f}" if p else "-"

            clean_fa = sum(p["false_alarms"] for p in m["points"] if p["flips"] == 0)
            ood_fa = sum(o["false_alarms"] for o in m.get("ood", []))
            ood_wrong = sum(o["wrong_outputs"] for o in m.get("ood", []))
            rel = max((p.get("reliable_fraction", 0) for p in m["points"]), default=0)
            print(f"| {m['mode']} | {acc('accumulated', 0)} | {acc('accumulated', 4096)} / "
                  f"{acc('streaming', 4096)} | {acc('accumulated', 16384)} / "
                  f"{acc('streaming', 16384)} | {lat('accumulated', 4096)} / "
                  f"{lat('streaming', 4096)} | {clean_fa} / {ood_fa} | {ood_wrong} | "
                  f"{100 * rel:.2f}% |")
        print()


if __name__ == "__main__":
    main()
