#!/usr/bin/python3
"""Learning-curve benchmark of pruning: Optuna 3.1's side (Debian's python3-optuna).

The same studies as `prune_curves.py hpo`: the same trainer (--task mlp or sgd) run as a
child process per trial, one report per epoch (step = epoch), random search over the same space with the same
number of trials, and Optuna's MedianPruner, SuccessiveHalvingPruner and HyperbandPruner with
the settings of prune_curves.PRUNERS. A pruned trial's process gets SIGTERM (it saves its
checkpoint and exits), as hpo does. Writes the JSON lines prune_curves.py summary reads.

  /usr/bin/python3 tests/bench/prune_curves_optuna.py \
      --train build/examples/quickstart/quickstart-train --seeds 0-9 --out /tmp/optuna.jsonl
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import optuna

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prune_curves import (EPOCHS, TASKS, add_study_arguments, seeds_of,  # noqa: E402
                          selected)

optuna.logging.set_verbosity(optuna.logging.WARNING)


def make_pruner(block):
    name = block["name"]
    if name == "none":
        return optuna.pruners.NopPruner()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=block["n_startup_trials"],
                                           n_warmup_steps=block["n_warmup_steps"])
    if name == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=block["min_resource"],
                                                      reduction_factor=block["reduction_factor"])
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=block["min_resource"],
                                              max_resource=block["max_resource"],
                                              reduction_factor=block["reduction_factor"])
    raise ValueError(name)


def suggest(trial, space):
    p = {}
    for name, d in space.items():
        when = d.get("when")
        if when and any(p.get(k) != v for k, v in when.items()):
            continue
        if d["type"] == "float":
            p[name] = trial.suggest_float(name, d["low"], d["high"], log=d.get("log", False))
        elif d["type"] == "int":
            p[name] = trial.suggest_int(name, d["low"], d["high"], log=d.get("log", False))
        else:
            p[name] = trial.suggest_categorical(name, d["choices"])
    return p


def objective_for(task, train, epochs_of):
    metric = task["metric"]

    def objective(trial):
        p = suggest(trial, task["space"])
        argv = task["argv"](train) + [f"--epochs={EPOCHS}"] + [f"--{k}={v}" for k, v in p.items()]
        with tempfile.TemporaryDirectory(prefix="optuna-prune-bench-") as ckpt:
            env = dict(os.environ, HPO_CHECKPOINT_DIR=ckpt, PYTHONUNBUFFERED="1")
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                    text=True, env=env)
            final = None
            reported = 0
            for line in proc.stdout:
                kv = dict(item.split("=", 1) for item in line.split() if "=" in item)
                if "epoch" in kv:
                    reported += 1
                    trial.report(float(kv[metric]), int(kv["epoch"]))
                    if trial.should_prune():
                        proc.terminate()
                        proc.wait()
                        epochs_of[trial.number] = reported
                        raise optuna.TrialPruned()
                elif metric in kv:
                    final = float(kv[metric])
            proc.wait()
            epochs_of[trial.number] = reported
            if final is None:
                raise RuntimeError("no final " + metric)
            return final
    return objective


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_study_arguments(parser)
    args = parser.parse_args()
    with open(args.out, "w") as out:
        for pruner, block in selected(args.pruners).items():
            for seed in seeds_of(args.seeds):
                epochs_of = {}
                study = optuna.create_study(direction="minimize",
                                            sampler=optuna.samplers.RandomSampler(seed=seed),
                                            pruner=make_pruner(block))
                study.optimize(objective_for(TASKS[args.task], args.train, epochs_of),
                               n_trials=args.trials)
                rows = []
                for t in study.trials:
                    state = t.state.name
                    rows.append([epochs_of.get(t.number, 0), state,
                                 t.value if state == "COMPLETE" else None])
                out.write(json.dumps({"side": "optuna", "pruner": pruner, "seed": seed,
                                      "trials": rows}) + "\n")
                out.flush()
                print(f"optuna {pruner} seed {seed}: {sum(r[0] for r in rows)} epochs",
                      file=sys.stderr)


if __name__ == "__main__":
    main()
