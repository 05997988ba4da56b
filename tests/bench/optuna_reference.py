#!/usr/bin/python3
"""Optuna 3.1 reference runs of the samplers hpo compares itself with (issue 14): CmaEsSampler
and QMCSampler, on the public problems of ../shared/bench/problems.py, one JSON line per
(problem, method, seed) in the format score.py reads. Not run by ctest.

    /usr/bin/python3 tests/bench/optuna_reference.py --sampler cmaes [--problems a,b]
        [--seeds 0-9] [--budget 100] [--bench-dir ../shared/bench] > optuna-cmaes.jsonl

Samplers (Debian's python3-optuna 3.1 with python3-cmaes and python3-scipy):
    cmaes         CmaEsSampler(seed=s) with Optuna's defaults (independent sampling of the
                  categorical by RandomSampler)
    cmaes-margin  CmaEsSampler(seed=s, with_margin=True)
    cmaes-ipop    CmaEsSampler(seed=s, restart_strategy="ipop")
    qmc           QMCSampler(seed=s, scramble=True) (scrambled Sobol; Optuna's default is
                  unscrambled)
    qmc-halton    QMCSampler(qmc_type="halton", seed=s, scramble=True)
"""
import argparse
import json
import os
import sys
import time
import warnings


def parse_seeds(text):
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(text)]


def suggest(trial, param):
    if param.kind == "float":
        return trial.suggest_float(param.name, param.low, param.high)
    if param.kind == "logfloat":
        return trial.suggest_float(param.name, param.low, param.high, log=True)
    if param.kind == "int":
        return trial.suggest_int(param.name, int(param.low), int(param.high))
    return trial.suggest_categorical(param.name, list(param.choices))


def make_sampler(optuna, name, seed):
    s = optuna.samplers
    if name == "cmaes":
        return s.CmaEsSampler(seed=seed)
    if name == "cmaes-margin":
        return s.CmaEsSampler(seed=seed, with_margin=True)
    if name == "cmaes-ipop":
        return s.CmaEsSampler(seed=seed, restart_strategy="ipop")
    if name == "qmc":
        return s.QMCSampler(seed=seed, scramble=True)
    if name == "qmc-halton":
        return s.QMCSampler(qmc_type="halton", seed=seed, scramble=True)
    raise SystemExit("unknown sampler " + name)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--sampler", required=True)
    ap.add_argument("--problems", default="")
    ap.add_argument("--seeds", default="0-9")
    ap.add_argument("--budget", type=int, default=100)
    ap.add_argument("--bench-dir", default=os.path.join(here, "..", "..", "..", "shared", "bench"))
    args = ap.parse_args()
    sys.path.insert(0, os.path.abspath(args.bench_dir))
    from problems import PROBLEMS  # noqa: E402
    import optuna  # noqa: E402

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore")
    names = [n for n in args.problems.split(",") if n] or list(PROBLEMS)
    checkpoints = [c for c in (10, 25, 50, 100) if c <= args.budget]
    for name in names:
        problem = PROBLEMS[name]
        for seed in parse_seeds(args.seeds):
            sampler = make_sampler(optuna, args.sampler, seed)
            study = optuna.create_study(direction=problem.direction, sampler=sampler)
            objective_seconds = 0.0

            def objective(trial):
                nonlocal objective_seconds
                params = {p.name: suggest(trial, p) for p in problem.params}
                t0 = time.perf_counter()
                value = problem.evaluate(params)
                objective_seconds += time.perf_counter() - t0
                return value

            start = time.perf_counter()
            study.optimize(objective, n_trials=args.budget)
            seconds = time.perf_counter() - start
            sign = 1.0 if problem.direction == "minimize" else -1.0
            best, best_at, best_params = None, {}, None
            for i, t in enumerate(study.trials, start=1):
                if t.value is not None and (best is None or sign * t.value < sign * best):
                    best, best_params = t.value, t.params
                if i in checkpoints:
                    best_at[str(i)] = best
            print(json.dumps({
                "problem": name, "method": "optuna-" + args.sampler, "seed": seed,
                "budget": args.budget, "best_at": best_at, "seconds": round(seconds, 4),
                "objective_seconds": round(objective_seconds, 4),
                "sampler_seconds": round(seconds - objective_seconds, 4),
                "best_params": best_params, "method_version": "optuna " + optuna.__version__,
            }), flush=True)


if __name__ == "__main__":
    main()
