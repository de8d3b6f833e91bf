//! kbackup engine.
