"""A random forest on scikit-learn's bundled digits, judged on two things at once: how well it
classifies the held-out split (accuracy, to maximize) and how big the fitted model is (size_kb,
the pickled forest, to minimize). It also reports how long predicting the held-out split took
(predict_ms), which the study holds under a limit (a constraint, not an objective).

A bigger forest is more accurate and larger: there is no single best trial, only a trade-off,
and `hpo best` prints the Pareto front of it. The script prints `name=value` lines and knows
nothing about hpo.
"""
import argparse
import pickle
import time

from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-estimators", type=int, default=100)
    parser.add_argument("--max-depth", type=int, default=None)
    parser.add_argument("--min-samples-leaf", type=int, default=1)
    args = parser.parse_args()

    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=0)
    forest = RandomForestClassifier(n_estimators=args.n_estimators, max_depth=args.max_depth,
                                    min_samples_leaf=args.min_samples_leaf, random_state=0)
    forest.fit(x_train, y_train)
    start = time.perf_counter()
    accuracy = forest.score(x_test, y_test)
    predict_ms = (time.perf_counter() - start) * 1000.0
    size_kb = len(pickle.dumps(forest)) / 1024.0
    print(f"accuracy={accuracy:.6f} size_kb={size_kb:.3f} predict_ms={predict_ms:.3f}")


if __name__ == "__main__":
    main()
