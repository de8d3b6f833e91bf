//! Integration tests against the real broker and store (`ci/services.sh start` provides them).
//! Opt in with TEST_INTEGRATION=1; CI always opts in.

mod common;

mod bad_input;
mod closed_stdout;
mod consumer_offsets;
mod continuous;
mod corruption;
mod crash;
mod delete;
mod group;
mod metrics;
mod pitr;
mod round_trip;
mod topics;
mod zombie;
