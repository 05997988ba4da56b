#!/bin/sh
# The read-only commands of issue 13 on a large study (not run by ctest): makes a results
# database of TRIALS trials with 10 intermediate values each (hpo-bench results-db), then times
# the real `hpo` binary on it and prints one line per figure: wall seconds and output size.
# The dashboard figures: time until the study's document is first served, then the time and
# size of a poll (what the page fetches every 2 s) while another process adds trials, and how
# soon a new trial shows in it.
#
#   tests/bench/results_bench.sh BUILD_DIR OUT_DIR [TRIALS]     (default 100000; needs curl)
set -eu
build=$(cd "$1" && pwd)
out=$2
trials=${3:-100000}
hpo="$build/hpo"
bench="$build/tests/bench/hpo-bench"
mkdir -p "$out"
cd "$out"
rm -rf big.db big.db-wal big.db-shm export.csv export.json export-optuna.db report.html

now() { date +%s.%N; }
# timed LABEL FILE COMMAND...: runs COMMAND and prints its wall seconds and the size of FILE
# (what it wrote), or of its stdout when FILE is "-".
timed() {
  label=$1
  file=$2
  shift 2
  t0=$(now)
  "$@" >stdout.tmp 2>stderr.tmp || { cat stderr.tmp >&2; exit 1; }
  t1=$(now)
  if [ "$file" = "-" ]; then size=$(stat -c %s stdout.tmp); else size=$(stat -c %s "$file"); fi
  rm -f stdout.tmp stderr.tmp
  printf '%-44s %7.2f s  %s bytes\n' "$label" "$(echo "$t1 - $t0" | bc -l)" "$size"
}

"$bench" results-db --out big.db --trials "$trials"
ls -l big.db | awk '{print "database: " $5 " bytes"}'

timed "hpo status" - "$hpo" status --storage big.db
timed "hpo trials --sort value --limit 10" - "$hpo" trials big --storage big.db --sort value --limit 10
timed "hpo trials --where x2 --format json" - "$hpo" trials big --storage big.db \
  --where 'optimizer = momentum' --where 'lr < 0.01' --format json
timed "hpo show big (the last trial)" - "$hpo" show big $((trials - 1)) --storage big.db
timed "hpo compare big big" - "$hpo" compare big big.db:big --storage big.db
timed "hpo export --format csv" export.csv "$hpo" export big --storage big.db --format csv -o export.csv
timed "hpo export --format json" export.json "$hpo" export big --storage big.db --format json -o export.json
timed "hpo export --format optuna" export-optuna.db "$hpo" export big --storage big.db --format optuna -o export-optuna.db
timed "hpo report" report.html "$hpo" report big --storage big.db -o report.html

# The dashboard, while another process adds trials to the same study.
"$hpo" dashboard --storage big.db --port 0 --refresh 2 >dashboard.out 2>&1 &
dash=$!
trap 'kill $dash 2>/dev/null || true' EXIT
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' dashboard.out)
  [ -n "$port" ] && break
  sleep 0.1
done
url="http://127.0.0.1:$port/api/studies/big"
t0=$(now)
while curl -s "$url" | grep -q '"loading"'; do sleep 0.05; done
t1=$(now)
printf '%-44s %7.2f s\n' "dashboard: first document of the study" "$(echo "$t1 - $t0" | bc -l)"
curl -s -o page.json -w '%{time_total} %{size_download}\n' "$url" |
  awk '{printf "%-44s %7.3f s  %d bytes\n", "dashboard: one poll (idle)", $1, $2}'
curl -s -o /dev/null -w '%{time_total} %{size_download}\n' "$url/trials?sort=value&order=asc&limit=100" |
  awk '{printf "%-44s %7.3f s  %d bytes\n", "dashboard: one page of 100 trials by value", $1, $2}'
total() { curl -s "$url" | sed -n 's/.*"total":\([0-9]*\).*/\1/p' | head -1; }
before=$(total)
"$bench" results-db --out big.db --trials 2000 --seed 2 >/dev/null &
writer=$!
t0=$(now)
worst=0
while [ "$(total)" = "$before" ]; do sleep 0.05; done
t1=$(now)
for _ in $(seq 20); do
  t=$(curl -s -o /dev/null -w '%{time_total}' "$url")
  worst=$(echo "if ($t > $worst) $t else $worst" | bc -l)
done
wait $writer
printf '%-44s %7.2f s\n' "dashboard: a new trial shows after" "$(echo "$t1 - $t0" | bc -l)"
printf '%-44s %7.3f s\n' "dashboard: slowest of 20 polls, trials coming" "$worst"
rm -f page.json dashboard.out
