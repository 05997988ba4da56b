#!/usr/bin/python3
"""Learning-curve benchmark of pruning: hpo's side, and the summary of both sides.

Trains a real model epoch by epoch (27 epochs, one report each) in studies of --trials
random-search trials, for each pruner and seed, through the real `hpo run` and the subprocess
executor (a pruned trial gets SIGTERM, finishes its epoch and exits). --task mlp: the quickstart
MLP (examples/quickstart, which also saves a checkpoint); --task sgd: scikit-learn's
SGDClassifier with partial_fit on the digits data set (sgd_digits_train.py).
prune_curves_optuna.py runs the same trainer, space, budget and pruners with Optuna 3.1.

  /usr/bin/python3 tests/bench/prune_curves.py hpo --hpo build/engine/cli/hpo \
      --train build/examples/quickstart/quickstart-train --seeds 0-9 --out /tmp/hpo.jsonl
  /usr/bin/python3 tests/bench/prune_curves_optuna.py \
      --train build/examples/quickstart/quickstart-train --seeds 0-9 --out /tmp/optuna.jsonl
  /usr/bin/python3 tests/bench/prune_curves.py summary /tmp/hpo.jsonl /tmp/optuna.jsonl

Each study is one JSON line: {"side", "pruner", "seed", "trials": [[epochs, state, value]...]}
in trial order (value: the final val_loss of a COMPLETE trial, else null). The summary gives,
per side and pruner, the mean over seeds of the total epochs trained and of the best COMPLETE
value (with its standard deviation), and, per pruner, the best value each side had reached
when both had trained the same number of epochs (the smaller of the two totals, per seed).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

EPOCHS = 27
# The pruners compared, with the same settings on both sides (Optuna's defaults for the
# median rule; rungs at epochs 1, 3, 9, 27 for ASHA and Hyperband).
PRUNERS = {
    "none": {"name": "none"},
    "median": {"name": "median", "n_startup_trials": 5, "n_warmup_steps": 0},
    "asha": {"name": "asha", "min_resource": 1, "reduction_factor": 3},
    "hyperband": {"name": "hyperband", "min_resource": 1, "max_resource": EPOCHS,
                  "reduction_factor": 3},
}
HERE = os.path.dirname(os.path.abspath(__file__))
# The quickstart study's space (examples/quickstart/study.json).
SPACE = {
    "lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
    "hidden": {"type": "int", "low": 4, "high": 128, "log": True},
    "l2": {"type": "float", "low": 1e-6, "high": 1e-1, "log": True},
    "batch": {"type": "categorical", "choices": [16, 32, 64, 128]},
    "optimizer": {"type": "categorical", "choices": ["sgd", "momentum", "adam"]},
    "momentum": {"type": "float", "low": 0.5, "high": 0.99, "when": {"optimizer": "momentum"}},
}


# The trainers: what runs (argv before the parameter flags), the metric reported per epoch and
# at the end (minimized), and the space. "mlp" needs --train (the quickstart binary).
TASKS = {
    "mlp": {"argv": lambda train: [os.path.abspath(train)], "metric": "val_loss",
            "space": SPACE},
    "sgd": {"argv": lambda train: ["/usr/bin/python3", os.path.join(HERE, "sgd_digits_train.py")],
            "metric": "val_error",
            "space": {
                "alpha": {"type": "float", "low": 1e-6, "high": 1e-1, "log": True},
                "eta0": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
                "learning_rate": {"type": "categorical",
                                  "choices": ["constant", "invscaling", "adaptive"]},
                "loss": {"type": "categorical", "choices": ["hinge", "log_loss", "modified_huber"]},
            }},
}


def seeds_of(text):
    a, _, b = text.partition("-")
    return list(range(int(a), int(b or a) + 1))


def run_hpo(args):
    task = TASKS[args.task]
    with open(args.out, "w") as out:
        for pruner, block in selected(args.pruners).items():
            for seed in seeds_of(args.seeds):
                with tempfile.TemporaryDirectory(prefix="hpo-prune-bench-") as tmp:
                    spec = {
                        "name": f"curves-{pruner}-{seed}",
                        "direction": "minimize",
                        "objective": {"metric": task["metric"]},
                        "space": task["space"],
                        "sampler": {"name": "random", "seed": seed},
                        "pruner": block,
                        "budget": {"trials": args.trials},
                        "parallelism": 1,
                        "executor": {
                            "kind": "subprocess",
                            "command": task["argv"](args.train) + [f"--epochs={EPOCHS}"] +
                                       [f"--{k}={{{k}}}" for k in task["space"]],
                            "kill_grace": "10s",
                        },
                    }
                    spec_path = os.path.join(tmp, "study.json")
                    with open(spec_path, "w") as f:
                        json.dump(spec, f)
                    db = os.path.join(tmp, "hpo.db")
                    subprocess.run([args.hpo, "run", spec_path, "--storage", db], check=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    listed = subprocess.run([args.hpo, "trials", spec["name"], "--storage", db,
                                             "--format", "json"], check=True,
                                            capture_output=True, text=True).stdout
                trials = sorted(json.loads(listed), key=lambda t: t["number"])
                rows = [[len(t["intermediate"]), t["state"],
                         t["value"] if t["state"] == "COMPLETE" else None] for t in trials]
                out.write(json.dumps({"side": "hpo", "pruner": pruner, "seed": seed,
                                      "trials": rows}) + "\n")
                out.flush()
                print(f"hpo {pruner} seed {seed}: {sum(r[0] for r in rows)} epochs",
                      file=sys.stderr)


def selected(names):
    """The PRUNERS named in a comma-separated list ("none,asha"); all of them for "all"."""
    if names == "all":
        return PRUNERS
    return {n: PRUNERS[n] for n in names.split(",")}


def best_within(trials, epochs):
    """The best COMPLETE value among the trials run before `epochs` epochs were spent."""
    spent, best = 0, None
    for n, state, value in trials:
        spent += n
        if spent > epochs:
            break
        if state == "COMPLETE" and value is not None and (best is None or value < best):
            best = value
    return best


def summary(args):
    studies = {}
    for path in args.files:
        with open(path) as f:
            for line in f:
                s = json.loads(line)
                studies[(s["side"], s["pruner"], s["seed"])] = s["trials"]
    sides = sorted({k[0] for k in studies})
    print(f"{'side':8} {'pruner':10} {'seeds':>5} {'epochs':>8} {'x fewer':>8} "
          f"{'best value':>14} {'sd':>7} {'pruned':>7}")
    for side in sides:
        base = [sum(n for n, _, _ in t) for (s, p, _), t in studies.items()
                if s == side and p == "none"]
        for pruner in PRUNERS:
            runs = [t for (s, p, _), t in sorted(studies.items()) if s == side and p == pruner]
            if not runs:
                continue
            epochs = [sum(n for n, _, _ in t) for t in runs]
            bests = [min((v for _, st, v in t if st == "COMPLETE"), default=float("nan"))
                     for t in runs]
            pruned = [sum(1 for _, st, _ in t if st == "PRUNED") for t in runs]
            ratio = statistics.mean(base) / statistics.mean(epochs) if base else float("nan")
            sd = statistics.stdev(bests) if len(bests) > 1 else 0.0
            print(f"{side:8} {pruner:10} {len(runs):>5} {statistics.mean(epochs):>8.1f} "
                  f"{ratio:>8.2f} {statistics.mean(bests):>14.4f} {sd:>7.4f} "
                  f"{statistics.mean(pruned):>7.1f}")
    if len(sides) < 2:
        return
    print("\nbest value at equal total epochs (per seed, the smaller of the two sides' totals)")
    a, b = sides[0], sides[1]
    print(f"{'pruner':10} {'seeds':>5} {'epochs':>8} {a:>10} {b:>10}  {a} better/tie/worse")
    for pruner in PRUNERS:
        rows = []
        for (s, p, seed), t in studies.items():
            if s != a or p != pruner or (b, p, seed) not in studies:
                continue
            u = studies[(b, p, seed)]
            e = min(sum(n for n, _, _ in t), sum(n for n, _, _ in u))
            rows.append((e, best_within(t, e), best_within(u, e)))
        rows = [r for r in rows if r[1] is not None and r[2] is not None]
        if not rows:
            continue
        better = sum(1 for r in rows if r[1] < r[2])
        tie = sum(1 for r in rows if r[1] == r[2])
        print(f"{pruner:10} {len(rows):>5} {statistics.mean(r[0] for r in rows):>8.1f} "
              f"{statistics.mean(r[1] for r in rows):>10.4f} "
              f"{statistics.mean(r[2] for r in rows):>10.4f}  "
              f"{better}/{tie}/{len(rows) - better - tie}")


def add_study_arguments(parser):
    """The options both sides of the benchmark take (this script's `hpo` command and
    prune_curves_optuna.py), so that one command line runs either."""
    parser.add_argument("--task", default="mlp", choices=sorted(TASKS))
    parser.add_argument("--train", help="the quickstart-train binary (task mlp)")
    parser.add_argument("--seeds", default="0-9")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--pruners", default="all", help="comma-separated subset of " +
                        ",".join(PRUNERS))
    parser.add_argument("--out", required=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    h = sub.add_parser("hpo", help="run hpo's studies")
    h.add_argument("--hpo", required=True)
    add_study_arguments(h)
    s = sub.add_parser("summary", help="compare result files")
    s.add_argument("files", nargs="+")
    args = parser.parse_args()
    run_hpo(args) if args.command == "hpo" else summary(args)


if __name__ == "__main__":
    main()
