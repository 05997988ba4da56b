#!/usr/bin/python3
"""Optuna 3.1's TPE on the objective of `hpo-bench scale` (issue 16): the 10-d Styblinski-Tang
function (x1..x10 floats in [-5, 5], minimised), TPESampler(seed=1) with Optuna's defaults,
n_jobs=2 (threads), SQLite RDB storage (--storage memory for Optuna's in-memory storage), for
as many trials as fit in --minutes. Not run by ctest.

    /usr/bin/python3 tests/bench/scale_optuna.py [--minutes 10] [--storage sqlite|memory]
        [--db /tmp/optuna-scale.db] [--report-every 500]

Prints a JSON line every --report-every trials (trials so far, seconds, per-trial time of the
last window) and one at the end: trials, seconds, mean and last-window per-trial time (ms), the
best value.
"""
import argparse
import json
import os
import sys
import threading
import time


def styblinski_tang(xs):
    return 0.5 * sum(x ** 4 - 16.0 * x * x + 5.0 * x for x in xs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--storage", choices=["sqlite", "memory"], default="sqlite")
    ap.add_argument("--db", default="/tmp/optuna-scale.db")
    ap.add_argument("--report-every", type=int, default=500)
    args = ap.parse_args()

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = None
    if args.storage == "sqlite":
        if os.path.exists(args.db):
            os.remove(args.db)
        storage = "sqlite:///" + args.db
    study = optuna.create_study(
        study_name="scale", storage=storage, direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=1))

    lock = threading.Lock()
    start = time.monotonic()
    state = {"done": 0, "window_start": start, "window_ms": None}

    def objective(trial):
        return styblinski_tang([trial.suggest_float("x%d" % i, -5.0, 5.0) for i in range(1, 11)])

    def callback(study, trial):
        with lock:
            state["done"] += 1
            if state["done"] % args.report_every == 0:
                now = time.monotonic()
                state["window_ms"] = round(
                    1000.0 * (now - state["window_start"]) / args.report_every, 2)
                print(json.dumps({"trials": state["done"], "seconds": round(now - start, 2),
                                  "ms_per_trial_window": state["window_ms"]}), flush=True)
                state["window_start"] = now

    study.optimize(objective, timeout=args.minutes * 60.0, n_jobs=2, callbacks=[callback])
    seconds = time.monotonic() - start
    done = state["done"]
    print(json.dumps({"bench": "scale-optuna", "optuna": optuna.__version__,
                      "storage": args.storage, "trials": done, "seconds": round(seconds, 2),
                      "ms_per_trial_mean": round(1000.0 * seconds / max(done, 1), 2),
                      "ms_per_trial_last_window": state["window_ms"],
                      "best_value": study.best_value}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
