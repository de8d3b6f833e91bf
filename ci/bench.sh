#!/usr/bin/env bash
# Criterion micro-benchmarks of the engine (benches/): save a baseline, then compare a later build against it.
#
#   bash ci/bench.sh save NAME      run every bench and store the results as baseline NAME
#   bash ci/bench.sh compare NAME   run every bench against baseline NAME; exit 1 if criterion reports
#                                   "Performance has regressed." for any of them
#   (extra arguments after NAME go to criterion, e.g. a filter: `bash ci/bench.sh compare main compress/json`)
#
# A developer tool, deliberately NOT part of .ci/run: CI runs on small shared 2-core machines where other work
# (builds, services, the partition-scaling harness) competes for the same cores, so timings swing by far more
# than the few percent criterion flags as a regression. Gating merges on that would fail at random. Run it on a
# quiet machine, saving the baseline and comparing on the same machine, back to back.
#
# Baselines live under $CARGO_TARGET_DIR/criterion (default target/criterion), so keep the same target dir.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: bash ci/bench.sh save|compare NAME [criterion args...]" >&2
  exit 2
}

[[ $# -ge 2 ]] || usage
mode=$1
name=$2
shift 2

case "$mode" in
  save)
    cargo bench -p benches --locked -- --save-baseline "$name" "$@"
    ;;
  compare)
    log=$(mktemp)
    trap 'rm -f "$log"' EXIT
    # criterion prints to stdout; keep it visible while capturing it for the verdict.
    cargo bench -p benches --locked -- --baseline "$name" "$@" 2>&1 | tee "$log"
    if grep -q "Performance has regressed." "$log"; then
      echo "== bench.sh: regressions against baseline '$name':" >&2
      # The benchmark id is the first word of the last unindented line before the verdict.
      awk '/^[^ \t]/ { id = $1 } /Performance has regressed\./ { print "  " id }' "$log" >&2
      exit 1
    fi
    echo "== bench.sh: no regression against baseline '$name'"
    ;;
  *)
    usage
    ;;
esac
