"""A Katib-shaped trainer: an SGDClassifier on scikit-learn's bundled digits, trained epoch by
epoch with partial_fit, printing `Epoch N: Validation-accuracy=...` as Katib's examples do.

`--eta0` is only passed when the learning rate schedule uses it (the spec's conditional
parameter); argparse would refuse a bare `--eta0`, which hpo never leaves behind.
"""
import argparse

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--alpha", type=float, default=1e-4)
    parser.add_argument("--learning-rate", default="optimal",
                        choices=["optimal", "constant", "invscaling", "adaptive"])
    parser.add_argument("--eta0", type=float, default=0.0)
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()

    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.3, random_state=0)
    scaler = StandardScaler().fit(x_train)
    x_train, x_val = scaler.transform(x_train), scaler.transform(x_val)
    model = SGDClassifier(alpha=args.alpha, learning_rate=args.learning_rate, eta0=args.eta0,
                          random_state=0)
    classes = np.unique(y)
    rng = np.random.default_rng(0)
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(x_train))
        model.partial_fit(x_train[order], y_train[order], classes=classes)
        print(f"Epoch {epoch}: Train-accuracy={model.score(x_train, y_train):.6f}", flush=True)
        print(f"Epoch {epoch}: Validation-accuracy={model.score(x_val, y_val):.6f}", flush=True)


if __name__ == "__main__":
    main()
