//! kbackup engine: backs up Kafka topic partitions into compressed, checksummed segments on
//! object storage and restores them, record for record.
//!
//! Entry points: [`backup::run`], [`restore::run`], [`verify::integrity`], [`verify::against`],
//! [`catalog::list`], [`catalog::describe`], [`delete::delete`], [`delete::delete_redundant`]; all take a
//! resolved [`config::Plan`] or the store it names. Several instances of one backup split its
//! partitions through a Kafka consumer group ([`kafka::GroupMember`]); readers resolve the entries
//! of a partition into one chain ([`manifest::chain::chain`]), so overlapping writers never double a record.
//! What `kbackup --json` prints is versioned by [`schema`]; the harness reads it through the same types.
#![deny(unsafe_code, rust_2018_idioms, missing_docs)]

pub mod backup;
pub mod catalog;
pub mod completion;
pub mod config;
pub mod delete;
pub mod fetch;
pub mod groups;
pub mod kafka;
pub mod manifest;
pub mod metrics;
pub mod probe;
pub mod progress;
pub mod restore;
pub mod schema;
pub mod segment;
pub mod store;
pub mod summary;
pub mod verify;
