"""A random forest on scikit-learn's bundled digits, reporting through Python's logging.

Written as many tuning scripts are: `logging.info(...)` for progress, which goes to stderr.
The forest grows in four stages (warm_start), and each stage logs `step=N accuracy=...` on the
held-out split; the last line is the final `accuracy=...`. hpo reads stderr as well as stdout
(executor.metrics_from, default "both"), so nothing here knows about hpo.
"""
import argparse
import logging

from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-estimators", type=int, default=100)
    parser.add_argument("--max-depth", type=int, default=None)
    parser.add_argument("--max-features", default="sqrt")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)  # INFO:root:... on stderr

    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=0)
    max_features = args.max_features
    if max_features not in ("sqrt", "log2"):
        max_features = float(max_features)
    forest = RandomForestClassifier(max_depth=args.max_depth, max_features=max_features,
                                    warm_start=True, random_state=0)
    accuracy = 0.0
    for step in range(1, 5):
        forest.n_estimators = max(1, args.n_estimators * step // 4)
        forest.fit(x_train, y_train)
        accuracy = forest.score(x_test, y_test)
        logging.info("step=%d trees=%d accuracy=%f", step, forest.n_estimators, accuracy)
    logging.info("accuracy=%f", accuracy)


if __name__ == "__main__":
    main()
