#!/bin/sh
# The sampler comparison of issue 14 (not run by ctest): every hpo sampler and the Optuna and
# scikit-learn references on the five public problems, 10 seeds, 100 trials, scored against
# ../shared/bench/reference.jsonl, then one suggestion timed at 100 and 1,000 (and 200) trials
# of history over 10 parameters.
#
#   tests/bench/samplers_bench.sh BUILD_DIR OUT_DIR [--skip-references]
#
# The scikit-learn GP reference takes about two hours on a 2-core machine; --skip-references
# reuses OUT_DIR/optuna-*.jsonl and OUT_DIR/sklearn-gp.jsonl from an earlier run.
set -eu
build=$1
out=$2
skip=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
shared=$(cd "$here/../../../shared/bench" 2>/dev/null && pwd || echo "$here/../../../shared/bench")
bench="$build/tests/bench/hpo-bench"
problems="branin hartmann6 rosenbrock_5d styblinski_tang_8d mixed_quadratic"
mkdir -p "$out"

quality() {  # LABEL SAMPLER [OPTIONS]
  for p in $problems; do
    "$bench" quality --problem "$p" --sampler "$2" --options "${3:-{\}}" --seeds 0-9 \
        --budget 100 --method "$1"
  done > "$out/$1.jsonl"
}
quality hpo-random random
quality hpo-tpe tpe
quality hpo-qmc-sobol qmc
quality hpo-qmc-halton qmc '{"qmc_type": "halton"}'
quality hpo-cmaes cmaes
quality hpo-gp gp
quality hpo-auto auto

# Exact reproducibility: a second run of grid and QMC gives the same trials.
for p in $problems; do
  "$bench" quality --problem "$p" --sampler qmc --seeds 0-9 --budget 100 --method hpo-qmc-sobol
done > "$out/hpo-qmc-sobol.again.jsonl"
"$bench" quality --problem branin --sampler grid --seeds 0-9 --budget 100 --method hpo-grid \
    --options '{"values": {"x1": [-5, -3.33, -1.67, 0, 1.67, 3.33, 5, 6.67, 8.33, 10],
                           "x2": [0, 1.67, 3.33, 5, 6.67, 8.33, 10, 11.67, 13.33, 15]}}' \
    > "$out/hpo-grid-branin.jsonl"
"$bench" quality --problem branin --sampler grid --seeds 0-9 --budget 100 --method hpo-grid \
    --options '{"values": {"x1": [-5, -3.33, -1.67, 0, 1.67, 3.33, 5, 6.67, 8.33, 10],
                           "x2": [0, 1.67, 3.33, 5, 6.67, 8.33, 10, 11.67, 13.33, 15]}}' \
    > "$out/hpo-grid-branin.again.jsonl"
strip() { sed 's/"seconds":[^,]*,//; s/"sampler_seconds":[^,]*,//' "$1"; }
for f in hpo-qmc-sobol hpo-grid-branin; do
  a=hpo-qmc-sobol.jsonl
  [ "$f" = hpo-grid-branin ] && a=hpo-grid-branin.jsonl
  if [ "$(strip "$out/$a")" = "$(strip "$out/$f.again.jsonl")" ]; then
    echo "$f: two runs identical"
  else
    echo "$f: runs DIFFER"
  fi
done

if [ "$skip" != "--skip-references" ]; then
  for s in cmaes cmaes-margin qmc; do
    /usr/bin/python3 "$here/optuna_reference.py" --sampler "$s" --bench-dir "$shared" \
        > "$out/optuna-$s.jsonl"
  done
  /usr/bin/python3 "$here/sklearn_gp_reference.py" --bench-dir "$shared" \
      2>/dev/null | grep '^{' > "$out/sklearn-gp.jsonl"  # scipy's L-BFGS-B prints to stdout
fi

cat "$out"/hpo-random.jsonl "$out"/hpo-tpe.jsonl "$out"/hpo-qmc-sobol.jsonl \
    "$out"/hpo-qmc-halton.jsonl "$out"/hpo-cmaes.jsonl "$out"/hpo-gp.jsonl "$out"/hpo-auto.jsonl \
    "$out"/optuna-*.jsonl "$out"/sklearn-gp.jsonl > "$out/all.jsonl"
/usr/bin/python3 "$shared/score.py" "$shared/reference.jsonl" "$out/all.jsonl" > "$out/score.txt"
sed -n '/AGGREGATE: mean normalized/,/#problems/p' "$out/score.txt"

for s in random tpe qmc cmaes gp; do
  for n in 100 1000; do "$bench" speed --sampler "$s" --history "$n"; done
done > "$out/speed.jsonl"
"$bench" speed --sampler gp --history 200 >> "$out/speed.jsonl"
/usr/bin/python3 "$shared/optuna_tpe_speed.py" --history 100 >> "$out/speed.jsonl"
/usr/bin/python3 "$shared/optuna_tpe_speed.py" --history 1000 >> "$out/speed.jsonl"
cat "$out/speed.jsonl"
