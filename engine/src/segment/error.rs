//! The segment error type: everything that can go wrong writing or reading a segment.

/// An error from encoding, compressing, parsing or decoding a segment.
///
/// Messages name the part of the object that failed (header, footer, index or
/// block number) so an operator can tell a truncated upload from bit rot.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SegmentError {
    /// Fewer bytes were available than the layout requires.
    #[error("{what} truncated: needed {needed} bytes, only {available} available")]
    Truncated {
        /// Which part of the segment was short.
        what: &'static str,
        /// Bytes required.
        needed: u64,
        /// Bytes present.
        available: u64,
    },
    /// The magic bytes did not match, so this is not a kbackup segment.
    #[error("{what}: bad magic (not a kbackup segment)")]
    BadMagic {
        /// `"header"` or `"footer"`.
        what: &'static str,
    },
    /// The segment was written by a format version this build cannot read.
    #[error("unsupported segment format version {version} (this build reads version {})", super::FORMAT_VERSION)]
    UnsupportedVersion {
        /// The version found in the object.
        version: u16,
    },
    /// The codec id is not one this build knows.
    #[error("unknown codec id {code}")]
    UnknownCodec {
        /// The codec byte found in the object.
        code: u8,
    },
    /// A CRC-32C did not match the bytes it covers.
    #[error("{}: checksum mismatch (stored {expected:#010x}, computed {actual:#010x})", location(what, *block))]
    ChecksumMismatch {
        /// `"header"`, `"footer"`, `"index"` or `"block"`.
        what: &'static str,
        /// The block number, for block checksums.
        block: Option<usize>,
        /// The checksum stored in the object.
        expected: u32,
        /// The checksum computed over the bytes read.
        actual: u32,
    },
    /// The bytes passed their checksums but are structurally invalid.
    #[error("{}: {reason}", corrupt_location(*block))]
    Corrupt {
        /// The block number, when the problem is inside one block.
        block: Option<usize>,
        /// What is wrong.
        reason: String,
    },
    /// The codec failed to decompress a block.
    #[error("block {block}: decompression failed: {reason}")]
    Decompress {
        /// The block number.
        block: usize,
        /// The codec's error.
        reason: String,
    },
    /// The codec failed to compress a block, or the block cannot be stored.
    #[error("compression failed: {reason}")]
    Compress {
        /// Why.
        reason: String,
    },
    /// A block number past the end of the index was requested.
    #[error("block {block} does not exist (segment has {block_count} blocks)")]
    NoSuchBlock {
        /// The requested block number.
        block: usize,
        /// How many blocks the segment has.
        block_count: usize,
    },
}

/// "block 3" for block-level errors, otherwise the name of the part.
fn location(what: &str, block: Option<usize>) -> String {
    match block {
        Some(b) => format!("block {b}"),
        None => what.to_owned(),
    }
}

/// "block 3: corrupt" inside a block, "corrupt segment" otherwise.
fn corrupt_location(block: Option<usize>) -> String {
    match block {
        Some(b) => format!("block {b}: corrupt"),
        None => "corrupt segment".to_owned(),
    }
}

impl SegmentError {
    /// The block concerned, when the error is about one block.
    pub fn block(&self) -> Option<usize> {
        match self {
            SegmentError::ChecksumMismatch { block, .. } | SegmentError::Corrupt { block, .. } => *block,
            SegmentError::Decompress { block, .. } | SegmentError::NoSuchBlock { block, .. } => Some(*block),
            _ => None,
        }
    }

    /// Shorthand for a [`SegmentError::Corrupt`].
    pub(crate) fn corrupt(block: Option<usize>, reason: impl Into<String>) -> Self {
        SegmentError::Corrupt { block, reason: reason.into() }
    }
}
