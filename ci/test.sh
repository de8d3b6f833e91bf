#!/usr/bin/env bash
# The README's test command: format check, lints as errors, every test in the workspace.
# Integration tests run when TEST_INTEGRATION=1 and the service variables are set
# (`eval "$(bash ci/services.sh start)"` sets them); otherwise they print why they skip.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# `--env containers` is behind a feature (it pulls in testcontainers); lint it too so it
# keeps compiling even though CI has no Docker engine to run it.
cargo clippy -p harness --features containers --all-targets --locked -- -D warnings
cargo test --workspace --locked
