#!/usr/bin/env python3
"""Cross-validated accuracy of an SVC or a random forest on scikit-learn's wine data.

The training program tuned by examples/sklearn/study.json. It fits one of two models, chosen by
--model, on the 178 wines of sklearn.datasets.load_wine (bundled with scikit-learn, nothing is
downloaded) and reports 5-fold stratified cross-validated accuracy:

  --model=svc     StandardScaler + SVC; --C, --gamma, --kernel (rbf, poly, sigmoid), and
                  --degree for --kernel=poly only
  --model=forest  RandomForestClassifier; --n-estimators, --max-depth, --min-samples-leaf

A flag that does not apply to the chosen model (--C with --model=forest, --degree with
--kernel=rbf, ...) is an error rather than silently ignored: hpo drops the flags of inactive
conditional parameters, so a spec whose conditions do not match the program fails loudly.

Talking to hpo (DESIGN.md, "How a trial reports back"): after each fold one line
`step=K fold_accuracy=.. accuracy=..` (accuracy is the running mean, stored by hpo as an
intermediate value), then `accuracy=.. accuracy_std=..`, whose accuracy is the trial's value.

Deterministic: the folds, the forest and the SVC do not depend on anything but the flags.
Single-threaded (n_jobs=1), so two trials at a time fit on two cores.
Exit status: 0 done, 2 bad command line (argparse's convention).
"""

import argparse
import math
import sys

FOLDS = 5
SEED = 0  # the fold split and the forest's bootstrap; fixed so a trial is reproducible


def positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got '{text}'")
    return value


def gamma_value(text):
    if text in ("scale", "auto"):
        return text
    return positive_float(text)


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got '{text}'")
    return value


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="5-fold cross-validated accuracy of an SVC or a random forest on the wine "
        "data set; prints `step=K fold_accuracy=.. accuracy=..` per fold, then "
        "`accuracy=.. accuracy_std=..`.")
    parser.add_argument("--model", required=True, choices=["svc", "forest"])
    svc = parser.add_argument_group("--model=svc (StandardScaler + SVC)")
    svc.add_argument("--C", type=positive_float, help="regularisation, > 0 (default 1)")
    svc.add_argument("--gamma", type=gamma_value,
                     help="kernel coefficient, > 0, or scale or auto (default scale)")
    svc.add_argument("--kernel", choices=["rbf", "poly", "sigmoid"], help="default rbf")
    svc.add_argument("--degree", type=positive_int, help="--kernel=poly only (default 3)")
    forest = parser.add_argument_group("--model=forest (RandomForestClassifier)")
    forest.add_argument("--n-estimators", "--n_estimators", dest="n_estimators",
                        type=positive_int, help="trees (default 100)")
    forest.add_argument("--max-depth", "--max_depth", dest="max_depth", type=positive_int,
                        help="depth limit (default none)")
    forest.add_argument("--min-samples-leaf", "--min_samples_leaf", dest="min_samples_leaf",
                        type=positive_int, help="samples per leaf (default 1)")
    args = parser.parse_args(argv)

    own = {"svc": ["C", "gamma", "kernel", "degree"],
           "forest": ["n_estimators", "max_depth", "min_samples_leaf"]}
    for model, names in own.items():
        if model == args.model:
            continue
        for name in names:
            if getattr(args, name) is not None:
                parser.error(f"--{name} applies to --model={model} only")
    if args.degree is not None and args.kernel != "poly":
        parser.error("--degree applies to --kernel=poly only")
    return args


def make_model(args):
    # Imported here: each subpackage costs a good part of a trial's start-up.
    if args.model == "svc":
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC
        return make_pipeline(
            StandardScaler(),
            SVC(C=args.C if args.C is not None else 1.0,
                gamma=args.gamma if args.gamma is not None else "scale",
                kernel=args.kernel or "rbf",
                degree=args.degree if args.degree is not None else 3))
    from sklearn.ensemble import RandomForestClassifier
    return RandomForestClassifier(
        n_estimators=args.n_estimators if args.n_estimators is not None else 100,
        max_depth=args.max_depth,
        min_samples_leaf=args.min_samples_leaf if args.min_samples_leaf is not None else 1,
        random_state=SEED, n_jobs=1)


def main(argv):
    args = parse_args(argv)
    from sklearn.base import clone
    from sklearn.datasets import load_wine
    from sklearn.model_selection import StratifiedKFold

    x, y = load_wine(return_X_y=True)
    model = make_model(args)
    print(f"model: {model}", file=sys.stderr, flush=True)

    scores = []
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    for k, (train, test) in enumerate(folds.split(x, y), start=1):
        fitted = clone(model).fit(x[train], y[train])
        scores.append(float(fitted.score(x[test], y[test])))
        mean = sum(scores) / len(scores)
        print(f"step={k} fold_accuracy={scores[-1]:.6f} accuracy={mean:.6f}", flush=True)

    mean = sum(scores) / len(scores)
    std = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
    print(f"accuracy={mean:.6f} accuracy_std={std:.6f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
