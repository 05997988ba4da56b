#!/usr/bin/python3
"""A plain GP-BO reference written with scikit-learn (issue 14): GaussianProcessRegressor with a
Matern-5/2 kernel (one length scale per dimension, fitted by maximum likelihood, one restart)
plus a white-noise term, and expected improvement maximized over random candidates. On the
public problems of ../shared/bench/problems.py, one JSON line per (problem, method, seed) in the
format score.py reads. Not run by ctest.

    /usr/bin/python3 tests/bench/sklearn_gp_reference.py [--problems a,b] [--seeds 0-9]
        [--budget 100] [--candidates 2000] > sklearn-gp.jsonl

Encoding: floats on [0, 1], log floats in log space, ints on [0, 1] and rounded, categoricals
one-hot; outputs standardized. The first 10 trials are uniformly random (as the startup of hpo's
and Optuna's samplers). Debian's python3-sklearn (1.2) and python3-scipy.
"""
import argparse
import json
import math
import os
import sys
import time
import warnings


def parse_seeds(text):
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(text)]


class Encoder:
    """Problem parameters <-> points of the unit cube (one-hot blocks for categoricals)."""

    def __init__(self, params):
        self.params = params
        self.dims = sum(len(p.choices) if p.kind == "categorical" else 1 for p in params)

    def random(self, rng, n):
        import numpy as np
        out = rng.uniform(size=(n, self.dims))
        col = 0
        for p in self.params:
            if p.kind == "categorical":
                k = len(p.choices)
                idx = rng.integers(0, k, size=n)
                out[:, col:col + k] = 0.0
                out[np.arange(n), col + idx] = 1.0
                col += k
            else:
                if p.kind == "int":
                    span = p.high - p.low
                    out[:, col] = np.round(out[:, col] * span) / span
                col += 1
        return out

    def decode(self, x):
        values, col = {}, 0
        for p in self.params:
            if p.kind == "categorical":
                k = len(p.choices)
                values[p.name] = p.choices[int(max(range(k), key=lambda j: x[col + j]))]
                col += k
                continue
            u = min(max(float(x[col]), 0.0), 1.0)
            if p.kind == "float":
                values[p.name] = p.low + u * (p.high - p.low)
            elif p.kind == "logfloat":
                values[p.name] = math.exp(math.log(p.low) + u * (math.log(p.high) - math.log(p.low)))
            else:
                values[p.name] = int(round(p.low + u * (p.high - p.low)))
            col += 1
        return values


def expected_improvement(mu, sigma, best):
    import numpy as np
    from scipy.stats import norm
    sigma = np.maximum(sigma, 1e-12)
    z = (best - mu) / sigma
    return (best - mu) * norm.cdf(z) + sigma * norm.pdf(z)


def run(problem, seed, budget, n_candidates, n_startup=10):
    import numpy as np
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    rng = np.random.default_rng(seed)
    enc = Encoder(problem.params)
    sign = 1.0 if problem.direction == "minimize" else -1.0
    xs, ys, values = [], [], []
    sampler_seconds = 0.0
    for t in range(budget):
        t0 = time.perf_counter()
        if t < n_startup:
            x = enc.random(rng, 1)[0]
        else:
            X = np.array(xs)
            y = np.array(ys)
            y = (y - y.mean()) / (y.std() if y.std() > 0 else 1.0)
            kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
                length_scale=np.full(enc.dims, 0.5), length_scale_bounds=(1e-3, 1e3), nu=2.5
            ) + WhiteKernel(1e-6, (1e-9, 1e-1))
            gp = GaussianProcessRegressor(kernel=kernel, normalize_y=False, n_restarts_optimizer=1,
                                          random_state=int(rng.integers(1 << 31)))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gp.fit(X, y)
            cand = enc.random(rng, n_candidates)
            mu, sd = gp.predict(cand, return_std=True)
            x = cand[int(np.argmax(expected_improvement(mu, sd, y.min())))]
        sampler_seconds += time.perf_counter() - t0
        params = enc.decode(x)
        value = problem.evaluate(params)
        xs.append(x)
        ys.append(sign * value)
        values.append((value, params))
    return values, sampler_seconds


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", default="")
    ap.add_argument("--seeds", default="0-9")
    ap.add_argument("--budget", type=int, default=100)
    ap.add_argument("--candidates", type=int, default=2000)
    ap.add_argument("--bench-dir", default=os.path.join(here, "..", "..", "..", "shared", "bench"))
    args = ap.parse_args()
    sys.path.insert(0, os.path.abspath(args.bench_dir))
    from problems import PROBLEMS  # noqa: E402
    import sklearn  # noqa: E402

    names = [n for n in args.problems.split(",") if n] or list(PROBLEMS)
    checkpoints = [c for c in (10, 25, 50, 100) if c <= args.budget]
    for name in names:
        problem = PROBLEMS[name]
        sign = 1.0 if problem.direction == "minimize" else -1.0
        for seed in parse_seeds(args.seeds):
            start = time.perf_counter()
            values, sampler_seconds = run(problem, seed, args.budget, args.candidates)
            seconds = time.perf_counter() - start
            best, best_params, best_at = None, None, {}
            for i, (v, p) in enumerate(values, start=1):
                if best is None or sign * v < sign * best:
                    best, best_params = v, p
                if i in checkpoints:
                    best_at[str(i)] = best
            print(json.dumps({
                "problem": name, "method": "sklearn-gp-ei", "seed": seed, "budget": args.budget,
                "best_at": best_at, "seconds": round(seconds, 4),
                "sampler_seconds": round(sampler_seconds, 4), "best_params": best_params,
                "method_version": "scikit-learn " + sklearn.__version__,
            }), flush=True)


if __name__ == "__main__":
    main()
