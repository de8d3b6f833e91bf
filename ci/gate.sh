#!/usr/bin/env bash
# Performance gate: build release binaries, run the `quick` scenario on the native environment (its own
# tansu + garage on free 127.0.0.1 ports), and compare the run with the committed baseline
# baselines/quick/<profile>.json. Exits with `harness compare`'s code: 0 no regression, 1 a gated metric
# regressed (or the run's own checks failed), 2 tool error (no baseline, build or harness failure).
#
#   bash ci/gate.sh                      # the gate, as .ci/run calls it
#   bash ci/gate.sh --save-baseline      # same run, then store it as the new baseline (commit the file)
#   bash ci/gate.sh -- --set backup.compression_level=19   # extra `harness scenario` flags after --
#
# Shape of the run (overridable): GATE_PROFILE [standard] GATE_REPEAT [5] GATE_OUT [reports]
# GATE_BASELINES [baselines]. standard = 256 MiB through every phase, so a backup lasts seconds rather
# than a fraction of one; 5 repeats give the median a 95% interval that means something. About 2 minutes
# on a 2-core machine. The tolerances in scenarios/quick.yaml's `gate:` are set from measured
# run-to-run spread on a busy shared 2-core machine: the gate catches gross regressions, not 5% ones.
# The report, compare.md and compare.json end up in GATE_OUT/quick/<UTC time>/.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${GATE_PROFILE:-standard}
repeat=${GATE_REPEAT:-5}
out=${GATE_OUT:-reports}
baselines=${GATE_BASELINES:-baselines}
save=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --save-baseline) save=1; shift ;;
    --) shift; break ;;
    *) echo "usage: bash ci/gate.sh [--save-baseline] [-- harness scenario flags...]" >&2; exit 2 ;;
  esac
done

target=${CARGO_TARGET_DIR:-target}
echo "== gate: cargo build --release --locked -p engine -p harness" >&2
start=$(date +%s)
cargo build --release --locked -p engine -p harness || exit 2
echo "== gate: release build took $(( $(date +%s) - start )) s" >&2

harness="$target/release/harness"
echo "== gate: harness scenario quick --profile $profile --repeat $repeat --env native $*" >&2
start=$(date +%s)
set +e
dir=$("$harness" scenario quick --profile "$profile" --repeat "$repeat" --env native \
  --kbackup "$target/release/kbackup" --out "$out" "$@")
run_rc=$?
set -e
echo "== gate: scenario took $(( $(date +%s) - start )) s (exit $run_rc)" >&2
if [[ $run_rc -ne 0 && $run_rc -ne 1 ]] || [[ -z $dir || ! -f $dir/report.json ]]; then
  echo "== gate: the scenario did not produce a report (exit $run_rc)" >&2
  exit 2
fi

if [[ $save -eq 1 ]]; then
  [[ $run_rc -eq 0 ]] || { echo "== gate: not saving a failed run as the baseline" >&2; exit 1; }
  "$harness" baseline save "$dir" --dir "$baselines"
fi

set +e
"$harness" compare "$dir" --dir "$baselines" --out "$dir"
rc=$?
set -e
echo "== gate: compare.md and compare.json in $dir" >&2
if [[ $rc -eq 0 && $run_rc -eq 1 ]]; then
  # Integrity or absolute targets failed: never a pass, whatever the comparison says.
  echo "== gate: the scenario's own checks failed; see $dir/report.md" >&2
  rc=1
fi
exit $rc
