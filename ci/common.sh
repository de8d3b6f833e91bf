# shellcheck shell=bash
# Shared by the CI scripts (.ci/run, ci/test.sh, ci/gate.sh; sourced): where cargo puts a profile's
# binaries, and stage timing.
#
#   ci_bin_dir PROFILE          prints the directory of PROFILE's binaries (dev -> <target>/debug)
#
# Stage timing: every stage prints
# `== stage NAME took N s`, and the script that started the run prints a table of all stages at the
# end, so CI's time budget stays visible (cold .ci/run: 60 minutes wanted, 90 the hard limit).
#
#   stages_init                 once, at the top of a script
#   stage NAME CMD...           run CMD as stage NAME (under `set -e`, a failure ends the script)
#   stage_begin NAME / stage_end  the same around commands that must run in the calling shell
#                               (e.g. `eval` of exported variables)
#   stages_finish RC            from the script's EXIT trap: records a stage cut short by a
#                               failure and, in the outermost script, prints the table
#
# The stages are recorded in $CI_STAGES_FILE (name, seconds, exit code; tab-separated). The outermost
# script creates it; scripts it runs inherit it, so ci/test.sh's stages appear in .ci/run's table.

CI_STAGE_NAME=""
CI_STAGE_START=0
CI_STAGES_OWNER=0

stages_init() {
    if [[ -z "${CI_STAGES_FILE:-}" ]]; then
        CI_STAGES_FILE="$(mktemp "${TMPDIR:-/tmp}/ci-stages.XXXXXX")"
        CI_STAGES_OWNER=1
        CI_STAGES_T0="$(date +%s)"
        export CI_STAGES_FILE CI_STAGES_T0
    fi
}

stage_begin() {
    CI_STAGE_NAME="$1"
    CI_STAGE_START="$(date +%s)"
    printf '== stage %s\n' "$1" >&2
}

# stage_end [RC]
stage_end() {
    local rc="${1:-0}" took
    took=$(($(date +%s) - CI_STAGE_START))
    if [[ "$rc" == 0 ]]; then
        printf '== stage %s took %d s\n' "$CI_STAGE_NAME" "$took" >&2
    else
        printf '== stage %s FAILED (exit %s) after %d s\n' "$CI_STAGE_NAME" "$rc" "$took" >&2
    fi
    printf '%s\t%d\t%s\n' "$CI_STAGE_NAME" "$took" "$rc" >>"$CI_STAGES_FILE"
    CI_STAGE_NAME=""
}

stage() {
    stage_begin "$1"
    shift
    "$@"
    stage_end 0
}

# m:ss
stage_clock() { printf '%d:%02d' $(($1 / 60)) $(($1 % 60)); }

stages_finish() {
    local rc="$1" name took result
    [[ -n "$CI_STAGE_NAME" ]] && stage_end "$rc"
    ((CI_STAGES_OWNER)) || return 0
    if [[ ! -s "$CI_STAGES_FILE" ]]; then
        rm -f "$CI_STAGES_FILE"
        return 0
    fi
    {
        printf '\n== stages (budget: cold run <= 60 min, CI limit 90 min)\n'
        printf '%-40s %8s  %s\n' stage 'm:ss' result
        while IFS=$'\t' read -r name took result; do
            [[ "$result" == 0 ]] && result=ok || result="FAILED (exit $result)"
            printf '%-40s %8s  %s\n' "$name" "$(stage_clock "$took")" "$result"
        done <"$CI_STAGES_FILE"
        printf '%-40s %8s  %s\n' total "$(stage_clock $(($(date +%s) - CI_STAGES_T0)))" \
            "$([[ "$rc" == 0 ]] && echo ok || echo "FAILED (exit $rc)")"
        if grep -q '||' "$CI_STAGES_FILE"; then
            printf '(the stages listed before an "a || b" stage ran side by side within it: their times overlap)\n'
        fi
    } >&2
    rm -f "$CI_STAGES_FILE"
}

ci_bin_dir() {
    local dir target
    dir="$1"
    [[ "$dir" == dev || "$dir" == test ]] && dir=debug
    [[ "$dir" == bench ]] && dir=release
    # The target dir as cargo resolves it (CARGO_TARGET_DIR, .cargo/config.toml, or ./target).
    target="$(cargo metadata --no-deps --format-version 1 --locked |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')" || return 1
    printf '%s/%s\n' "$target" "$dir"
}
