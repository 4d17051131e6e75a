"""SAVE: fault-tolerant neural-network inference, from Python.

    import save
    m = save.ProtectedModel("model.onnx", input_range={"x": (0, 1)})
    y = m.run(x)            # NumPy in, NumPy out; checked and repaired
    m.report                # detections, recoveries, uncorrectable sites, check time

`Session` runs a model unprotected; `analyze` returns the per-value table of
`save analyze`; `inject` and `eval` run the campaigns of `save inject` and
`save eval` (same defaults, same files in `out`) and return their results
as plain dicts. Engine errors raise `save.Error` with the engine's message.

Arrays are passed without copies when they are C-contiguous and of a dtype
the engine has (float32, int64, ...); float64 and other layouts are
converted once. Outputs are NumPy arrays over the engine's own buffers.
"""

import os as _os

from . import _save
from ._save import Error

__all__ = ["Error", "Session", "ProtectedModel", "analyze", "inject", "eval"]


def _path(p):
    """Accepts str and os.PathLike (pathlib.Path) for file arguments."""
    return None if p is None else _os.fspath(p)


class Session(_save.Session):
    """A model ready to run, unprotected: `Session(model, threads=0, fuse=True)`
    (fuse=False: the graph as written, like `--no-fuse`).

    `run(x)` takes one array (single-input models), a list in input order or
    a dict {input name: array}; it returns the output array, or a list of
    arrays for several outputs (names in `outputs`)."""

    def __init__(self, model, threads=0, fuse=True):
        super().__init__(_path(model), threads=threads, fuse=fuse)


class ProtectedModel(_save.ProtectedModel):
    """A model run under SAVE's checks and repair (`save run --protect save`).

    plan: a plan file from `save analyze -o` (None: analyse now);
    reliable_mem: budget, bytes (65536, "64KiB") or a share ("1%", the default);
    input_range: {input name: (lo, hi)}, the constraint the analysis assumes
    (default [0, 1] for float inputs). `run` is as for Session; `report` is
    a dict of what the checks found since construction."""

    def __init__(self, model, plan=None, reliable_mem=None, input_range=None, tolerance=1e-5,
                 weight_check="checksum", activation_check="full", async_checks=False, threads=0,
                 verbose=False):
        super().__init__(_path(model), plan=_path(plan), reliable_mem=reliable_mem,
                         input_range=input_range, tolerance=tolerance, weight_check=weight_check,
                         activation_check=activation_check, async_checks=async_checks,
                         threads=threads, verbose=verbose)


def analyze(model, input_range=None, tolerance=1e-5, threads=0, plan_out=None):
    """Range analysis and bit attribution (`save analyze --json`) as a dict;
    "values" is the per-value table. `plan_out` also writes the plan file."""
    return _save.analyze(_path(model), input_range=input_range, tolerance=tolerance,
                         threads=threads, plan_out=_path(plan_out))


def inject(model, *, data, out, **options):
    """A fault-injection campaign (`save inject`) into folder `out` (resumes
    when re-run). Options as the CLI's flags: flips=[0, 1, 16, 256, 4096],
    trials=10, pattern, scenario, target, bits_per_word, burst_length, seed=1,
    limit, batch=64, threads, labels, protect="none" (and the save mode's
    plan, reliable_mem, input_range, ...), progress=False. Returns
    {"summary": summary.json, "timings": timings.json, "ran", "skipped",
    "complete"}."""
    for k in ("plan",):
        if k in options:
            options[k] = _path(options[k])
    if "labels" in options:
        options["labels"] = _path(options["labels"]) or ""
    return _save.inject(_path(model), data=_path(data), out=_path(out), **options)


def eval(model, *, out, **options):  # noqa: A001 (the CLI's name)
    """Every protection mode side by side (`save eval`) into folder `out`
    (resumes when re-run). Options as the CLI's flags: quick, modes, data,
    labels, limit, trials, ood_samples, flips, scenarios, seed, threads,
    batch, progress. Returns {"results": results.json, "table", "ran",
    "skipped", "complete"}."""
    if "data" in options:
        options["data"] = _path(options["data"])
    if "labels" in options:
        options["labels"] = _path(options["labels"]) or ""
    return _save.eval(_path(model), out=_path(out), **options)
