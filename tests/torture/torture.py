#!/usr/bin/env python3
"""Torture test for resume: kill `hpo run` with SIGKILL at random moments and resume it,
again and again, then check that nothing was lost or run twice.

    torture.py --hpo build/hpo [--trials 200] [--kills 20] [--runs 1] [--parallelism 4]
               [--sampler random|tpe] [--seed 1] [--workdir DIR]

A study of --trials trials (subprocess executor, trials of a random 0.05-0.5 s that print a
deterministic metric of their parameters) is started with --runs concurrent `hpo run`
processes on one SQLite file; after a random 0.2-1.2 s every one is killed with SIGKILL,
and this repeats --kills times; then the study is run to the end. At the end it checks:
exactly --trials COMPLETE trials, trial numbers unique and dense, every COMPLETE value equal
to the metric recomputed from its parameters, no trial process left running, and
`PRAGMA integrity_check` = ok. The last line sums it up; the exit status is 0 when every
check passed.

This script is a subreaper (prctl PR_SET_CHILD_SUBREAPER): trial processes orphaned by a
killed hpo are re-parented to it, so none can hide behind init.
"""
import argparse
import ctypes
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from trial import metric  # noqa: E402


def become_subreaper():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except OSError:
        pass


def reap_orphans():
    """Reap any exited orphans re-parented to us."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def trial_processes(marker):
    """PIDs of live processes whose command line names our trial script and work dir."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                cmd = f.read().decode(errors="replace")
            with open("/proc/%s/stat" % entry) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmd and "trial.py" in cmd and state != "Z":
            pids.append(int(entry))
    return pids


def write_spec(path, args, trial_copy):
    spec = {
        "name": "torture",
        "direction": "minimize",
        "objective": {"metric": "score"},
        "space": {
            "x": {"type": "float", "low": -1.0, "high": 1.0},
            "n": {"type": "int", "low": 0, "high": 8},
            "c": {"type": "categorical", "choices": ["a", "b", "c"]},
        },
        "sampler": {"name": args.sampler, "seed": args.seed},
        "budget": {"trials": args.trials},
        "parallelism": args.parallelism,
        "executor": {
            "kind": "subprocess",
            "command": [sys.executable, trial_copy, "{x}", "{n}", "{c}"],
            "kill_grace": "1s",
        },
    }
    with open(path, "w") as f:
        json.dump(spec, f, indent=2)


def start_runs(args, spec, db, log):
    cmd = [args.hpo, "run", spec, "--storage", db, "--progress", "plain",
           "--heartbeat", "500ms", "--stale-after", "3s"]
    return [subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
            for _ in range(args.runs)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hpo", required=True)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--runs", type=int, default=1, help="concurrent hpo run processes")
    ap.add_argument("--parallelism", type=int, default=4)
    ap.add_argument("--sampler", default="tpe")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir")
    args = ap.parse_args()
    args.hpo = os.path.abspath(args.hpo)

    become_subreaper()
    rng = random.Random(args.seed)
    work = args.workdir or tempfile.mkdtemp(prefix="hpo-torture-")
    os.makedirs(work, exist_ok=True)
    # A copy of trial.py inside the work dir, so that its command line identifies this run's
    # trial processes and no other.
    trial_copy = os.path.join(work, "trial.py")
    with open(os.path.join(HERE, "trial.py")) as src, open(trial_copy, "w") as dst:
        dst.write(src.read())
    spec = os.path.join(work, "study.json")
    db = os.path.join(work, "torture.db")
    write_spec(spec, args, trial_copy)
    log = open(os.path.join(work, "hpo.log"), "ab")

    survived = 0
    for k in range(args.kills):
        procs = start_runs(args, spec, db, log)
        time.sleep(rng.uniform(0.2, 1.2))
        finished_early = [p for p in procs if p.poll() is not None]
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
        for p in procs:
            p.wait()
        reap_orphans()
        if finished_early and len(finished_early) == len(procs):
            print("kill %d: every run had already finished" % (k + 1), flush=True)
            break
        survived += 1
        print("kill %d: SIGKILL to %d run(s)" % (k + 1, len(procs) - len(finished_early)),
              flush=True)

    procs = start_runs(args, spec, db, log)
    codes = [p.wait() for p in procs]
    # Orphans of the last kill have at most 0.5 s of sleep left.
    deadline = time.time() + 5
    while trial_processes(work) and time.time() < deadline:
        reap_orphans()
        time.sleep(0.1)
    reap_orphans()
    orphans = trial_processes(work)

    con = sqlite3.connect(db)
    integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
    rows = con.execute(
        "SELECT t.number, t.state, t.value, t.params FROM trials t "
        "JOIN studies s ON s.id = t.study_id WHERE s.name = 'torture' ORDER BY t.number").fetchall()
    con.close()
    numbers = [r[0] for r in rows]
    states = {}
    for r in rows:
        states[r[1]] = states.get(r[1], 0) + 1
    complete = [r for r in rows if r[1] == "COMPLETE"]
    wrong = []
    for number, _, value, params in complete:
        p = json.loads(params)
        expected = metric(float(p["x"]), int(p["n"]), p["c"])
        if value is None or abs(value - expected) > 1e-9 * max(1.0, abs(expected)):
            wrong.append(number)

    checks = {
        "exit codes 0": all(c == 0 for c in codes),
        "exactly %d COMPLETE" % args.trials: len(complete) == args.trials,
        "numbers unique and dense": numbers == list(range(len(numbers))),
        "values recomputed": not wrong,
        "no orphan processes": not orphans,
        "integrity ok": integrity == "ok",
    }
    for name, ok in checks.items():
        print("%-28s %s" % (name, "ok" if ok else "FAILED"))
    if wrong:
        print("wrong values in trials", wrong[:10])
    if orphans:
        print("orphan pids", orphans)
    print("work dir:", work)
    passed = all(checks.values())
    print("torture: %d kills survived, %d run(s) at a time; %d COMPLETE of %d asked, %d trials "
          "(%s); numbers %s; %d wrong values; %d orphans; integrity %s -> %s" % (
              survived, args.runs, len(complete), args.trials, len(rows),
              ", ".join("%s %d" % kv for kv in sorted(states.items())),
              "dense" if checks["numbers unique and dense"] else "NOT dense",
              len(wrong), len(orphans), integrity, "PASS" if passed else "FAIL"))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
