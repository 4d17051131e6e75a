#!/usr/bin/python3
"""Turns bench_models --json output into the Markdown table of docs/PERF.md.

  python3 bench/results_to_md.py RESULTS.json [MORE.json ...]
"""
import json
import sys


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main():
    print("| model | batch | threads | rounds | ours ms | ORT ms | ours/ORT median [p25, p75] "
          "| best | cpu | max abs diff | conv+matmul GFLOP/s | % of peak |")
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    for path in sys.argv[1:]:
        with open(path) as f:
            doc = json.load(f)
        t = doc["threads"]
        for r in doc["results"]:
            if "error" in r:
                print("| %s | %d | %d | | | | %s | | | | | |" % (r["model"], r["batch"], t,
                                                                 r["error"].replace("|", "/")))
                continue
            ratio = "-"
            if "ratio_median" in r:
                ratio = "**%.2f** [%.2f, %.2f]" % (r["ratio_median"], r["ratio_p25"],
                                                   r["ratio_p75"])
            print("| %s | %d | %d | %d | %.3f | %s | %s | %s | %s | %s | %.1f | %.0f%% |" % (
                r["model"], r["batch"], t, r["rounds"], r["ours_ms_median"],
                fmt(r.get("ort_ms_median"), ".3f"), ratio, fmt(r.get("ratio_of_mins"), ".2f"),
                fmt(r.get("cpu_ratio_median"), ".2f"), fmt(r.get("max_abs_diff"), ".1e"),
                r["ours_gflops"], r["ours_peak_pct"]))


if __name__ == "__main__":
    main()
