//! The fixed parts of the on-disk layout: constants, codec ids, and the
//! encoding and validating parsers of the segment header and footer.
//!
//! The block index lives in `index.rs`, record encoding in `record.rs`. See
//! the module documentation of `segment` for the full layout.

use std::fmt;
use std::str::FromStr;

use super::SegmentError;
use super::cursor::{Cursor, truncated};
use super::index::index_len_for;

/// Current (and only) format version written and read by this build.
pub const FORMAT_VERSION: u16 = 1;
/// Length of the segment header at offset 0.
pub const HEADER_LEN: usize = 16;
/// Length of the fixed footer at the end of the object.
pub const FOOTER_LEN: usize = 44;
/// Length of one block index entry.
pub const INDEX_ENTRY_LEN: usize = 56;
/// Largest uncompressed block accepted by the writer and the reader (256 MiB).
///
/// The reader allocates up to this much per block, so it bounds the memory a
/// corrupt or hostile index can make us reserve.
pub const MAX_BLOCK_LEN: usize = 256 << 20;

/// Magic at the start of every segment.
pub(crate) const HEADER_MAGIC: [u8; 8] = *b"KBKPSEG\0";
/// Magic in the last 8 bytes of every segment.
pub(crate) const FOOTER_MAGIC: [u8; 8] = *b"KBKPEND\0";
/// Footer bytes covered by the footer CRC (everything before it).
const FOOTER_CRC_SPAN: usize = 32;
/// Header bytes covered by the header CRC.
const HEADER_CRC_SPAN: usize = 12;

/// Compression codec applied to every block of a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// Blocks stored uncompressed.
    None,
    /// Zstandard, one frame per block.
    Zstd,
    /// LZ4 block format (no frame; sizes live in the index).
    Lz4,
}

impl Codec {
    /// Every codec, in the order help texts list them.
    pub const ALL: [Codec; 3] = [Codec::Zstd, Codec::Lz4, Codec::None];
    /// Their names as configs spell them (`backup.compression`).
    pub const NAMES: [&'static str; 3] = ["zstd", "lz4", "none"];

    /// The codec byte stored in the header and footer.
    pub(crate) fn id(self) -> u8 {
        match self {
            Codec::None => 0,
            Codec::Zstd => 1,
            Codec::Lz4 => 2,
        }
    }

    /// Inverse of [`Codec::id`].
    pub(crate) fn from_id(code: u8) -> Result<Self, SegmentError> {
        match code {
            0 => Ok(Codec::None),
            1 => Ok(Codec::Zstd),
            2 => Ok(Codec::Lz4),
            _ => Err(SegmentError::UnknownCodec { code }),
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Codec::None => "none",
            Codec::Zstd => "zstd",
            Codec::Lz4 => "lz4",
        })
    }
}

/// Error from parsing a [`Codec`] name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown codec {0:?} (expected none, zstd or lz4)")]
pub struct ParseCodecError(pub String);

impl FromStr for Codec {
    type Err = ParseCodecError;

    /// Accepts `none`, `zstd` and `lz4`, ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(Codec::None),
            "zstd" => Ok(Codec::Zstd),
            "lz4" => Ok(Codec::Lz4),
            _ => Err(ParseCodecError(s.to_owned())),
        }
    }
}

/// The fixed-size trailer of a segment, read first by ranged readers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footer {
    /// Format version ([`FORMAT_VERSION`]).
    pub version: u16,
    /// Codec of every block.
    pub codec: Codec,
    /// Byte position of the block index.
    pub index_position: u64,
    /// Byte length of the block index.
    pub index_len: u32,
    /// CRC-32C of the block index bytes.
    pub index_crc32c: u32,
    /// Number of blocks.
    pub block_count: u32,
    /// Number of records in all blocks.
    pub record_count: u64,
}

impl Footer {
    /// Total object length this footer describes (index end plus footer).
    pub fn object_len(&self) -> u64 {
        self.index_position.saturating_add(u64::from(self.index_len)).saturating_add(FOOTER_LEN as u64)
    }

    /// Serializes the footer, computing its CRC.
    pub(crate) fn encode(&self) -> [u8; FOOTER_LEN] {
        let mut out = Vec::with_capacity(FOOTER_LEN);
        out.extend_from_slice(&self.index_position.to_le_bytes());
        out.extend_from_slice(&self.index_len.to_le_bytes());
        out.extend_from_slice(&self.index_crc32c.to_le_bytes());
        out.extend_from_slice(&self.block_count.to_le_bytes());
        out.extend_from_slice(&self.record_count.to_le_bytes());
        out.extend_from_slice(&self.version.to_le_bytes());
        out.push(self.codec.id());
        out.push(0); // reserved
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&FOOTER_MAGIC);
        let mut fixed = [0u8; FOOTER_LEN];
        fixed.copy_from_slice(&out);
        fixed
    }
}

/// Fails with [`SegmentError::ChecksumMismatch`] unless `covered` hashes to `expected`.
pub(crate) fn check_crc(what: &'static str, covered: &[u8], expected: u32) -> Result<(), SegmentError> {
    let actual = crc32c::crc32c(covered);
    if actual != expected {
        return Err(SegmentError::ChecksumMismatch { what, block: None, expected, actual });
    }
    Ok(())
}

fn check_version(version: u16) -> Result<(), SegmentError> {
    if version != FORMAT_VERSION {
        return Err(SegmentError::UnsupportedVersion { version });
    }
    Ok(())
}

/// Serializes the segment header for `codec`.
pub(crate) fn encode_header(codec: Codec) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    let (body, crc) = out.split_at_mut(HEADER_CRC_SPAN);
    body[..8].copy_from_slice(&HEADER_MAGIC);
    body[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    body[10] = codec.id();
    // body[11] stays 0: reserved for flags.
    crc.copy_from_slice(&crc32c::crc32c(body).to_le_bytes());
    out
}

/// Parses and verifies the segment header (the first [`HEADER_LEN`] bytes of
/// `bytes`), returning the codec it declares.
pub fn parse_header(bytes: &[u8]) -> Result<Codec, SegmentError> {
    let header: &[u8; HEADER_LEN] = bytes.first_chunk().ok_or_else(|| truncated("header", bytes, HEADER_LEN))?;
    let mut c = Cursor::new(header, "header", None);
    if c.array::<8>()? != HEADER_MAGIC {
        return Err(SegmentError::BadMagic { what: "header" });
    }
    // Version before CRC: a future version may change what the CRC covers.
    check_version(c.u16()?)?;
    let code = c.u8()?;
    let reserved = c.u8()?;
    check_crc("header", &header[..HEADER_CRC_SPAN], c.u32()?)?;
    let codec = Codec::from_id(code)?;
    if reserved != 0 {
        return Err(SegmentError::corrupt(None, "non-zero reserved header byte"));
    }
    Ok(codec)
}

/// Parses and verifies the footer. `bytes` must end with the footer: its last
/// [`FOOTER_LEN`] bytes are used, so a ranged reader may pass a longer tail.
pub fn parse_footer(bytes: &[u8]) -> Result<Footer, SegmentError> {
    let tail: &[u8; FOOTER_LEN] = bytes.last_chunk().ok_or_else(|| truncated("footer", bytes, FOOTER_LEN))?;
    if tail[FOOTER_LEN - FOOTER_MAGIC.len()..] != FOOTER_MAGIC {
        return Err(SegmentError::BadMagic { what: "footer" });
    }
    let mut c = Cursor::new(tail, "footer", None);
    let index_position = c.u64()?;
    let index_len = c.u32()?;
    let index_crc32c = c.u32()?;
    let block_count = c.u32()?;
    let record_count = c.u64()?;
    let version = c.u16()?;
    check_version(version)?;
    let code = c.u8()?;
    let reserved = c.u8()?;
    check_crc("footer", &tail[..FOOTER_CRC_SPAN], c.u32()?)?;
    let footer = Footer {
        version,
        codec: Codec::from_id(code)?,
        index_position,
        index_len,
        index_crc32c,
        block_count,
        record_count,
    };
    if reserved != 0 {
        return Err(SegmentError::corrupt(None, "non-zero reserved footer byte"));
    }
    check_footer_shape(&footer)?;
    Ok(footer)
}

/// Structural checks that need nothing but the footer itself.
pub(crate) fn check_footer_shape(f: &Footer) -> Result<(), SegmentError> {
    if u64::from(f.index_len) != index_len_for(f.block_count) {
        let reason = format!("index length {} does not fit {} blocks", f.index_len, f.block_count);
        return Err(SegmentError::corrupt(None, reason));
    }
    if f.index_position < HEADER_LEN as u64 || f.object_len() == u64::MAX {
        let reason = format!("index position {} out of range", f.index_position);
        return Err(SegmentError::corrupt(None, reason));
    }
    Ok(())
}
