"""A trainer whose log has Keras's shape, without TensorFlow: an MLPClassifier on scikit-learn's
bundled digits, trained one epoch at a time with partial_fit, printing what Keras 3's
`model.fit(verbose=1)` prints: an `Epoch N/M` line, then a progress bar redrawn with '\\r' and
ending with `- accuracy: ... - loss: ... - val_accuracy: ... - val_loss: ...`.
The spec reads it with "metrics_format": "keras": one intermediate value per epoch.
"""
import argparse
import sys

import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()

    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.3, random_state=0)
    scaler = StandardScaler().fit(x_train)
    x_train, x_val = scaler.transform(x_train), scaler.transform(x_val)
    model = MLPClassifier(hidden_layer_sizes=(args.hidden,), learning_rate_init=args.learning_rate,
                          random_state=0)
    classes = np.unique(y)
    steps = (len(x_train) + args.batch_size - 1) // args.batch_size
    rng = np.random.default_rng(0)
    out = sys.stdout
    for epoch in range(1, args.epochs + 1):
        out.write(f"Epoch {epoch}/{args.epochs}\n")
        order = rng.permutation(len(x_train))
        for step in range(steps):
            batch = order[step * args.batch_size:(step + 1) * args.batch_size]
            model.partial_fit(x_train[batch], y_train[batch], classes=classes)
            if step % 10 == 0 or step == steps - 1:
                done = 20 * (step + 1) // steps
                bar = "\x1b[32m" + "━" * done + "\x1b[0m\x1b[37m" + "━" * (20 - done) + "\x1b[0m"
                acc = model.score(x_train[batch], y_train[batch])
                loss = log_loss(y_train[batch], model.predict_proba(x_train[batch]), labels=classes)
                line = (f"\r\x1b[1m{step + 1:>3}/{steps}\x1b[0m {bar} \x1b[1m0s\x1b[0m 2ms/step"
                        f" - accuracy: {acc:.4f} - loss: {loss:.4f}")
                if step == steps - 1:
                    val_acc = model.score(x_val, y_val)
                    val_loss = log_loss(y_val, model.predict_proba(x_val), labels=classes)
                    line += f" - val_accuracy: {val_acc:.4f} - val_loss: {val_loss:.4f}\n"
                out.write(line)
                out.flush()


if __name__ == "__main__":
    main()
