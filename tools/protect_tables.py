#!/usr/bin/env python3
"""Markdown tables for docs/RESULTS.md from scripts/results-protect.sh output.

Usage: tools/protect_tables.py [results/protect]
For each model: accuracy / SDC / detections / recoveries / latency /
AccurateLatency of none vs save per scenario and flip count, at batch 64 and
batch 1, the fault-free false alarms on the 10,000 test images, and the
reliable memory SAVE used. Standard library only.
"""
import json
import os
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def series_points(summary, timings):
    lat = {}
    for s in timings.get("series", []):
        for p in s["points"]:
            lat[(s["series"], p["flips"])] = p
    for s in summary["series"]:
        sid = "{}/{}/{}/{}/k{}".format(s["mode"], s["pattern"], s["scenario"], s["target"],
                                       s["bits_per_word"])
        for p in s["points"]:
            yield s, p, lat.get((sid, p["flips"]), {})


def table(folder, title):
    summary = load(os.path.join(folder, "summary.json"))
    timings = load(os.path.join(folder, "timings.json"))
    base = {}
    rows = []
    for s, p, t in series_points(summary, timings):
        key = (s["scenario"], p["flips"])
        if s["mode"] == "none":
            base[key] = t.get("latency_ms")
        rows.append((s["scenario"], p["flips"], s["mode"], p, t))
    rows.sort(key=lambda r: (r[0], r[1], r[2] != "none", r[2]))
    out = [f"**{title}** ({summary['samples']} images, batch {summary['batch']}, "
           f"{rows and rows[0][3]['trials']} trial(s) per point, seed {summary['seed']}, "
           f"fault-free accuracy {100 * summary['golden_accuracy']:.2f}%)", "",
           "| scenario | flips | mode | accuracy | SDC | detections | false alarms | recoveries |"
           " uncorrectable | latency ms | AccurateLatency ms | vs none fault-free |",
           "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for scen, flips, mode, p, t in rows:
        lat = t.get("latency_ms")
        acc_lat = t.get("accurate_latency_ms")
        ref = base.get((scen, 0))
        ratio = f"{acc_lat / ref:.2f}x" if acc_lat and ref else ""
        out.append(f"| {scen} | {flips} | {mode} | {100 * p['accuracy_mean']:.2f}% | "
                   f"{100 * p['sdc_rate']:.2f}% | {p['detections']} | {p['false_alarms']} | "
                   f"{p['recoveries']} | {p.get('uncorrectable', 0)} | "
                   f"{lat:.3f} | {acc_lat:.3f} | {ratio} |" if lat else
                   f"| {scen} | {flips} | {mode} | {100 * p['accuracy_mean']:.2f}% | | | | | | | | |")
    return "\n".join(out)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "results/protect"
    for m in sorted(os.listdir(root)):
        d = os.path.join(root, m)
        if not os.path.isdir(d):
            continue
        print(f"### {m}\n")
        for sub, title in (("b64", "batch 64"), ("b1", "batch 1")):
            if os.path.exists(os.path.join(d, sub, "summary.json")):
                print(table(os.path.join(d, sub), title) + "\n")
        clean = os.path.join(d, "clean-10000.json")
        if os.path.exists(clean):
            c = load(clean)
            print(f"Fault-free, all {c['samples']} test images (batch {c['batch']}): "
                  f"accuracy {100 * c['accuracy']:.2f}%, detections {c['detections']}, "
                  f"false alarms {c['false_alarms']}, reliable memory {c['reliable_bytes']} B, "
                  f"checks {c['check_ms']:.0f} ms in all.\n")


if __name__ == "__main__":
    main()
