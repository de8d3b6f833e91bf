#!/usr/bin/env bash
# Performance gate: run the `quick` scenario on the native environment (its own tansu + garage on free
# 127.0.0.1 ports) with the binaries CI tested, and compare the run with the committed baseline
# baselines/quick/<profile>.json. Exits with `harness compare`'s code: 0 no regression, 1 a gated metric
# regressed (or the run's own checks failed), 2 tool error (no baseline, build or harness failure).
# Then the `pitr` scenario (quick) against its own targets: its failure fails the gate too.
#
#   bash ci/gate.sh                      # build, then the gate
#   bash ci/gate.sh --bin-dir DIR        # the gate on DIR/kbackup and DIR/harness, no build (.ci/run
#                                        # passes the directory ci/test.sh built: <target dir>/ci)
#   bash ci/gate.sh --save-baseline      # same run, then store it as the new baseline (commit the file)
#   bash ci/gate.sh -- --set backup.compression_level=19   # extra `harness scenario` flags after --
#
# Without --bin-dir the binaries are built exactly as ci/test.sh builds them: cargo profile `ci`
# (GATE_CARGO_PROFILE), `cargo test --workspace --no-run`. Not `cargo build -p engine -p harness`: the
# workspace's tests and benches turn on a few more features of shared dependencies (serde, rustix), so
# that would compile a second, slightly different kbackup. A baseline saved here therefore measures the
# binaries CI measures.
#
# Shape of the run (overridable): GATE_PROFILE [standard] GATE_REPEAT [5] GATE_OUT [reports]
# GATE_BASELINES [baselines]. standard = 256 MiB through every phase, so a backup lasts seconds rather
# than a fraction of one; 5 repeats give the median a 95% interval that means something. About 3 minutes
# on a 2-core machine. The tolerances in scenarios/quick.yaml's `gate:` are set from measured
# run-to-run spread on a busy shared 2-core machine: the gate catches gross regressions, not 5% ones.
# The report, compare.md and compare.json end up in GATE_OUT/quick/<UTC time>/.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ci/common.sh
source ci/common.sh

profile=${GATE_PROFILE:-standard}
repeat=${GATE_REPEAT:-5}
out=${GATE_OUT:-reports}
baselines=${GATE_BASELINES:-baselines}
cargo_profile=${GATE_CARGO_PROFILE:-ci}
save=0
bin_dir=""
usage="usage: bash ci/gate.sh [--bin-dir DIR] [--save-baseline] [-- harness scenario flags...]"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --save-baseline) save=1; shift ;;
    --bin-dir)
      [[ $# -ge 2 ]] || { echo "$usage" >&2; exit 2; }
      bin_dir=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done

stages_init
trap 'stages_finish $?' EXIT

if [[ -z $bin_dir ]]; then
  stage_begin "gate: build (profile $cargo_profile)"
  cargo test --profile "$cargo_profile" --workspace --locked --no-run || exit 2
  stage_end
  bin_dir=$(ci_bin_dir "$cargo_profile") || exit 2
fi
harness="$bin_dir/harness"
kbackup="$bin_dir/kbackup"
for bin in "$harness" "$kbackup"; do
  [[ -x $bin ]] || { echo "== gate: $bin not found (build it, or pass --bin-dir)" >&2; exit 2; }
done

echo "== gate: $harness scenario quick --profile $profile --repeat $repeat --env native --kbackup $kbackup $*" >&2
stage_begin "gate: scenario quick ($profile, $repeat repeats)"
set +e
dir=$("$harness" scenario quick --profile "$profile" --repeat "$repeat" --env native \
  --kbackup "$kbackup" --out "$out" "$@")
run_rc=$?
set -e
stage_end "$run_rc"
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

# Point-in-time restore, checked by its own targets (no baseline): the restored window and offset
# ranges equal the harness's own filter of the source, and a 1% window reads at most 3% of what is
# stored. About 15 seconds.
if [[ $save -eq 0 ]]; then
  stage_begin "gate: scenario pitr (quick, targets)"
  set +e
  pitr_dir=$("$harness" scenario pitr --profile quick --env native --kbackup "$kbackup" --out "$out")
  pitr_rc=$?
  set -e
  stage_end "$pitr_rc"
  if [[ $pitr_rc -ne 0 ]]; then
    echo "== gate: scenario pitr failed (exit $pitr_rc); see ${pitr_dir:-$out/pitr}/report.md" >&2
    [[ $rc -eq 0 || $pitr_rc -eq 2 ]] && rc=$pitr_rc
  fi
fi
exit $rc
