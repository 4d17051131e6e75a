#!/usr/bin/python3
"""Turns bench_models --json output into the Markdown tables of docs/PERF.md.

  python3 bench/results_to_md.py RESULTS.json [MORE.json ...]

One line per file first (date, CPU, ISA, threads, ONNX Runtime, load average),
then one table: warm latency (median of the per-round ratios ours/ORT with
quartiles; "best" = fastest ours / fastest ORT), cold start (load + session
creation + first run) and peak resident memory, each engine in its own
process, with their ratios.
"""
import json
import sys


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def cold(r, engine, key, spec):
    c = r.get(engine + "_cold") or {}
    if "error" in c:
        return "failed"
    return fmt(c.get(key), spec)


def main():
    docs = []
    for path in sys.argv[1:]:
        with open(path) as f:
            docs.append(json.load(f))
    for d in docs:
        print("- %s, threads %d: %s; %s; ONNX Runtime %s (spinning %s); load average %s at "
              "start, %s at end" % (d.get("date", "?"), d["threads"], d["cpu"],
                                   d.get("isa", "ISA not recorded"), d["onnxruntime"],
                                   "on" if d.get("ort_intra_op_spinning", True) else "off",
                                   d.get("loadavg_start", "?"), d.get("loadavg_end", "?")))
    print()
    print("| model | batch | threads | rounds | ours ms | ORT ms | ours/ORT median [p25, p75] "
          "| best | cold ms ours / ORT | cold ratio | peak MB ours / ORT | peak ratio "
          "| max abs diff |")
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for d in docs:
        t = d["threads"]
        for r in d["results"]:
            if "error" in r:
                print("| %s | %d | %d | | | | %s | | | | | | |" % (
                    r["model"], r["batch"], t, r["error"].replace("|", "/").replace("\n", " ")))
                continue
            ratio = "-"
            if "ratio_median" in r:
                ratio = "**%.2f** [%.2f, %.2f]" % (r["ratio_median"], r["ratio_p25"],
                                                   r["ratio_p75"])
            print("| %s | %d | %d | %d | %.3f | %s | %s | %s | %s / %s | %s | %s / %s | %s | %s |"
                  % (r["model"], r["batch"], t, r["rounds"], r["ours_ms_median"],
                     fmt(r.get("ort_ms_median"), ".3f"), ratio,
                     fmt(r.get("ratio_of_mins"), ".2f"),
                     cold(r, "ours", "cold_ms", ".0f"), cold(r, "ort", "cold_ms", ".0f"),
                     fmt(r.get("cold_ratio"), ".2f"),
                     cold(r, "ours", "peak_rss_mb", ".0f"), cold(r, "ort", "peak_rss_mb", ".0f"),
                     fmt(r.get("peak_rss_ratio"), ".2f"), fmt(r.get("max_abs_diff"), ".1e")))


if __name__ == "__main__":
    main()
