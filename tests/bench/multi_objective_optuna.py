#!/usr/bin/python3
"""Optuna 3.1's NSGAIISampler and TPESampler (MOTPE) on the problems of
`hpo-bench multi-objective`: ZDT1, ZDT2 (10 variables), DTLZ2 and C2-DTLZ2 (3 objectives, 12
variables), with the same reference points; prints the mean hypervolume of the feasible Pareto
front at 50, 100 and BUDGET trials.

    /usr/bin/python3 tests/bench/multi_objective_optuna.py --seeds 10 --budget 200
"""
import argparse
import math
import sys
import time

import numpy as np
import optuna
from optuna._hypervolume import WFG

optuna.logging.set_verbosity(optuna.logging.WARNING)


def zdt(x, concave):
    g = 1.0 + 9.0 * sum(x[1:]) / (len(x) - 1)
    r = x[0] / g
    return [x[0], g * (1.0 - (r * r if concave else math.sqrt(r)))]


def dtlz2(x):
    g = sum((xi - 0.5) ** 2 for xi in x[2:])
    a, b = x[0] * math.pi / 2, x[1] * math.pi / 2
    return [(1 + g) * math.cos(a) * math.cos(b), (1 + g) * math.cos(a) * math.sin(b),
            (1 + g) * math.sin(a)]


def c2_violation(f):
    r, m = 0.4, len(f)
    best = min((f[i] - 1) ** 2 - r * r + sum(f[j] ** 2 for j in range(m) if j != i)
               for i in range(m))
    centre = sum((fi - 1 / math.sqrt(m)) ** 2 for fi in f) - r * r
    return max(0.0, min(best, centre))


PROBLEMS = {
    "zdt1": (10, [1.1, 11.0], lambda x: (zdt(x, False), 0.0)),
    "zdt2": (10, [1.1, 11.0], lambda x: (zdt(x, True), 0.0)),
    "dtlz2": (12, [2.0, 2.0, 2.0], lambda x: (dtlz2(x), 0.0)),
    "c2dtlz2": (12, [2.0, 2.0, 2.0], lambda x: (dtlz2(x), c2_violation(dtlz2(x)))),
}


def front_hv(rows, ref):
    """rows: (values, violation); the hypervolume of the feasible non-dominated points."""
    pts = [v for v, c in rows if c <= 0 and all(a < b for a, b in zip(v, ref))]
    if not pts:
        return 0.0
    return WFG().compute(np.asarray(pts), np.asarray(ref))


def run(problem, sampler_name, seed, budget):
    n, ref, f = PROBLEMS[problem]
    constrained = problem == "c2dtlz2"
    cons = (lambda t: [t.user_attrs["violation"]]) if constrained else None
    if sampler_name == "nsga2":
        sampler = optuna.samplers.NSGAIISampler(seed=seed, constraints_func=cons)
    else:
        sampler = optuna.samplers.TPESampler(seed=seed, constraints_func=cons)
    study = optuna.create_study(directions=["minimize"] * len(ref), sampler=sampler)
    rows = []

    def objective(trial):
        x = [trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(n)]
        values, violation = f(x)
        trial.set_user_attr("violation", violation)
        rows.append((values, violation))
        return values

    study.optimize(objective, n_trials=budget)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budget", type=int, default=200)
    ap.add_argument("--samplers", default="tpe,nsga2")
    ap.add_argument("--problems", default="zdt1,zdt2,dtlz2,c2dtlz2")
    a = ap.parse_args()
    checkpoints = [50, 100, a.budget]
    print(f"{'problem':8} {'sampler':12} {'hv@50':>10} {'hv@100':>10} {'hv@' + str(a.budget):>10}"
          f"   feasible front at {a.budget} (seeds)   optuna {optuna.__version__}")
    for problem in a.problems.split(","):
        for s in a.samplers.split(","):
            mean = [0.0] * len(checkpoints)
            with_front = 0
            for seed in range(a.seeds):
                started = time.monotonic()
                rows = run(problem, s, seed, a.budget)
                for i, c in enumerate(checkpoints):
                    mean[i] += front_hv(rows[:c], PROBLEMS[problem][1]) / a.seeds
                print(f"  {problem} optuna-{s} seed {seed}: hv@{a.budget} "
                      f"{front_hv(rows, PROBLEMS[problem][1]):.4f} "
                      f"({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
                with_front += any(c <= 0 for _, c in rows)
            print(f"{problem:8} {'optuna-' + s:12} {mean[0]:10.4f} {mean[1]:10.4f} {mean[2]:10.4f}"
                  f"   {with_front}/{a.seeds}", flush=True)


if __name__ == "__main__":
    main()
