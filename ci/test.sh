#!/usr/bin/env bash
# The whole test suite in one command: format check, lints as errors, then every test of the
# workspace against a real Kafka-API broker (tansu) and S3 store (garage) that this script installs
# when missing, starts on free 127.0.0.1 ports with a state directory of its own, and stops at the
# end. The first run builds tansu and garage (~40 min on 2 cores, once); later runs start them in
# seconds.
#
#   bash ci/test.sh                # as above (what .ci/run runs)
#   bash ci/test.sh --running      # against services already running: the variables printed by
#                                  # `eval "$(bash ci/services.sh start)"` must be set
#   bash ci/test.sh --no-services  # no services: the integration tests print why they skip
#
# Everything is built once, with the cargo profile `ci` (root Cargo.toml: release code generation,
# plus overflow checks and debug assertions in the workspace's own code): the tests run the binaries
# <target dir>/ci/kbackup and <target dir>/ci/harness, and `ci/gate.sh --bin-dir` measures the same
# ones. CI_CARGO_PROFILE=dev switches to debug builds (quicker to rebuild while iterating).
#
# Order: fmt; then the tools' install side by side with clippy and the test build (ci/together.mk: one
# jobserver for both, so they share the 2 cores without oversubscribing them); then the tests. Each
# stage prints its duration. (When the tools are cached, which is every run but the first on a
# machine, the install is instant and a lint error still fails within minutes.)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ci/common.sh
source ci/common.sh

profile="${CI_CARGO_PROFILE:-ci}"
cargo_args=(--profile "$profile" --workspace --locked)

# The two halves of the side-by-side stage; `--step NAME` runs one (for ci/together.mk).
step_install() {
    stage "services: install tansu" bash ci/services.sh install tansu
    stage "services: install garage" bash ci/services.sh install garage
}
step_build() {
    # One clippy run for every target, the `containers` feature included (`--env containers`: CI has
    # no Docker engine to run it, but it must keep compiling). Its only code without that feature,
    # the stub that says the feature is missing (harness/src/main.rs, cfg(not(feature =
    # "containers"))), is compiled by the test build. Same profile as the tests: the C libraries the
    # build scripts compile (librdkafka, aws-lc, zstd) are built once for both.
    stage "clippy" cargo clippy "${cargo_args[@]}" --all-targets --features harness/containers -- -D warnings
    stage "test build" cargo test "${cargo_args[@]}" --no-run
}

services=own
case "${1:-}" in
    "") ;;
    --running) services=running ;;
    --no-services)
        services=none
        unset TEST_INTEGRATION
        ;;
    --step)
        stages_init
        trap 'stages_finish $?' EXIT
        case "${2:-}" in
            install) step_install ;;
            build) step_build ;;
            *) exit 2 ;;
        esac
        exit 0
        ;;
    *)
        echo "usage: bash ci/test.sh [--running | --no-services]" >&2
        exit 2
        ;;
esac

if [[ "$services" == running ]]; then
    for var in TEST_INTEGRATION KAFKA_BOOTSTRAP S3_ENDPOINT S3_BUCKET; do
        if [[ -z "${!var:-}" ]]; then
            echo "ci/test.sh --running: $var is not set; run: eval \"\$(bash ci/services.sh start)\"" >&2
            exit 2
        fi
    done
fi

state_dir=""
stop_services() {
    [[ -n "$state_dir" ]] || return 0
    KBACKUP_SERVICES_DIR="$state_dir" bash ci/services.sh stop || true
    rm -rf "$state_dir"
    state_dir=""
}
on_exit() {
    local rc=$?
    stop_services
    stages_finish "$rc"
}
stages_init
trap on_exit EXIT

# Four ports that were free a moment ago: Kafka, S3, garage RPC, garage admin.
free_ports() {
    python3 -c 'import socket
socks = [socket.socket() for _ in range(4)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))'
}

# In the calling shell: the services' variables are exported for the tests.
start_services() {
    local ports exports
    read -r -a ports <<<"$(free_ports)"
    if ((${#ports[@]} != 4)); then
        echo "ci/test.sh: could not find four free ports on 127.0.0.1" >&2
        exit 2
    fi
    state_dir="$(mktemp -d "${TMPDIR:-/tmp}/kbackup-test-services.XXXXXX")"
    stage_begin "services: start"
    exports="$(KBACKUP_SERVICES_DIR="$state_dir" KBACKUP_KAFKA_PORT="${ports[0]}" KBACKUP_S3_PORT="${ports[1]}" \
        KBACKUP_GARAGE_RPC_PORT="${ports[2]}" KBACKUP_GARAGE_ADMIN_PORT="${ports[3]}" bash ci/services.sh start)"
    eval "$exports"
    stage_end
}

stage "fmt" cargo fmt --all -- --check
if [[ "$services" == own ]]; then
    # Cold, tansu (~22 min), garage (~17) and clippy + the test build (~25) one after the other leave
    # a core idle for 15-25% of the time (tansu: 1990 CPU-s in 22 min); side by side they fill
    # each other's gaps.
    stage_begin "install || clippy + test build (wall)"
    TOGETHER_A="bash ci/test.sh --step install" TOGETHER_B="bash ci/test.sh --step build" \
        make -j"$(nproc)" -f ci/together.mk
    stage_end
    start_services
else
    step_build
fi
stage "tests" cargo test "${cargo_args[@]}"
if [[ -n "$state_dir" ]]; then
    stage "services: stop" stop_services
fi
echo "== binaries for the gate: $(ci_bin_dir "$profile") (bash ci/gate.sh --bin-dir <that dir>)" >&2
