"""Python call overhead of save.Session.run / save.ProtectedModel.run vs the
same C++ call, at batch 1 (issue 14's target: <= 2% of the C++ latency).

Per round: `--calls` runs timed from C++ (`_time_runs`: the engine's run()
in a C++ loop, inputs already converted) and `--calls` runs of the Python
method (array in, array out, each timed with perf_counter); the round's
ratio is median(Python) / median(C++). Rounds alternate which goes first;
the result is the median of the per-round ratios (the machine is shared:
single timings are noise).

    PYTHONPATH=build/python OMP_WAIT_POLICY=passive \\
        python3 bench/python_overhead.py [--model models/fmnist-resnet.onnx] [--rounds 21]
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

import save


def py_times(fn, x, n):
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn(x)
        out.append(time.perf_counter() - t0)
    return out


def measure(name, model, x, rounds, calls):
    model.run(x)  # plan, primitives, first-touch
    model._time_runs(x, calls)
    ratios, diffs, cpp_med, py_med = [], [], [], []
    for r in range(rounds):
        first_cpp = r % 2 == 0
        if first_cpp:
            c = statistics.median(model._time_runs(x, calls))
            p = statistics.median(py_times(model.run, x, calls))
        else:
            p = statistics.median(py_times(model.run, x, calls))
            c = statistics.median(model._time_runs(x, calls))
        ratios.append(p / c)
        diffs.append(p - c)
        cpp_med.append(c)
        py_med.append(p)
    ratio = statistics.median(ratios)
    print(f"{name:<10} C++ {statistics.median(cpp_med) * 1e3:8.3f} ms  "
          f"Python {statistics.median(py_med) * 1e3:8.3f} ms  "
          f"overhead {100 * (ratio - 1):+6.2f}% = {statistics.median(diffs) * 1e6:+.1f} us "
          f"(medians of {rounds} per-round ratios / differences, {calls} calls each; "
          f"ratios {min(ratios):.3f}..{max(ratios):.3f})")
    return ratio


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/fmnist-resnet.onnx")
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    print(f"model {a.model}, batch 1, threads {a.threads}; load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs")
    x = np.random.default_rng(0).random((1, 1, 28, 28), dtype=np.float32)
    measure("Session", save.Session(a.model, threads=a.threads), x, a.rounds, a.calls)
    measure("Protected", save.ProtectedModel(a.model, threads=a.threads), x, a.rounds, a.calls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
