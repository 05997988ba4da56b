#!/usr/bin/python3
"""A learning-curve trainer for the pruning benchmark (prune_curves.py --task sgd).

scikit-learn's SGDClassifier trained epoch by epoch with partial_fit on the digits data set
(1,797 8x8 images, a fixed 75/25 split, standardized), printing after every epoch
`epoch=N val_error=...` and at the end `val_error=...` (1 - validation accuracy), flushed, as
hpo's subprocess protocol reads them. The shuffling of epoch N depends on --seed and N only.

  /usr/bin/python3 sgd_digits_train.py --epochs=27 --alpha=1e-4 --eta0=0.01 \
      --learning_rate=constant --loss=hinge
On SIGTERM it finishes the epoch in progress and exits with status 143.
"""
import argparse
import signal
import sys

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

stop = False


def on_term(signum, frame):
    global stop
    stop = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=27)
    p.add_argument("--alpha", type=float, default=1e-4)
    p.add_argument("--eta0", type=float, default=0.01)
    p.add_argument("--learning_rate", default="constant")
    p.add_argument("--loss", default="hinge")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    signal.signal(signal.SIGTERM, on_term)
    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.25, random_state=0,
                                                      stratify=y)
    scaler = StandardScaler().fit(x_train)
    x_train, x_val = scaler.transform(x_train), scaler.transform(x_val)
    clf = SGDClassifier(alpha=a.alpha, eta0=a.eta0, learning_rate=a.learning_rate, loss=a.loss,
                        random_state=a.seed)
    classes = np.unique(y)
    for epoch in range(1, a.epochs + 1):
        order = np.random.default_rng([a.seed, epoch]).permutation(len(x_train))
        clf.partial_fit(x_train[order], y_train[order], classes=classes)
        error = 1.0 - clf.score(x_val, y_val)
        print(f"epoch={epoch} val_error={error:.6f}", flush=True)
        if stop:
            sys.exit(143)
    print(f"val_error={1.0 - clf.score(x_val, y_val):.6f}", flush=True)


if __name__ == "__main__":
    main()
