#!/usr/bin/env python3
"""A torture-test trial: sleeps a random 0.05-0.5 s, then prints a metric that is a
deterministic function of its parameters (torture.py recomputes it from the database).

    trial.py X N C
"""
import random
import sys
import time


def metric(x: float, n: int, c: str) -> float:
    return (x - 0.3) ** 2 + 0.1 * (n - 4) ** 2 + {"a": 0.0, "b": 0.5, "c": 1.0}[c]


def main() -> int:
    x, n, c = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    print("epoch=1 score=%r" % (metric(x, n, c) + 1.0), flush=True)
    time.sleep(random.uniform(0.05, 0.5))
    print("score=%r" % metric(x, n, c), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
