//! A bounds-checked little-endian reader over untrusted bytes, and the
//! truncation error shared by all parsers.

use super::SegmentError;

/// Bounds-checked little-endian reader; every failure is a [`SegmentError`].
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    what: &'static str,
    block: Option<usize>,
}

impl<'a> Cursor<'a> {
    /// Reads `buf`, naming `what` (and `block`) in errors.
    pub(crate) fn new(buf: &'a [u8], what: &'static str, block: Option<usize>) -> Self {
        Cursor { buf, what, block }
    }

    /// Bytes not yet consumed.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// A [`SegmentError::Corrupt`] located where this cursor reads.
    pub(crate) fn error(&self, reason: String) -> SegmentError {
        SegmentError::corrupt(self.block, reason)
    }

    fn short(&self, needed: usize) -> SegmentError {
        let (what, left) = (self.what, self.buf.len());
        self.error(format!("{what} ends unexpectedly: needed {needed} bytes, {left} left"))
    }

    /// Consumes exactly `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], SegmentError> {
        let (head, tail) = self.buf.split_at_checked(n).ok_or_else(|| self.short(n))?;
        self.buf = tail;
        Ok(head)
    }

    /// Consumes exactly `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], SegmentError> {
        let (head, tail) = self.buf.split_first_chunk::<N>().ok_or_else(|| self.short(N))?;
        self.buf = tail;
        Ok(*head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, SegmentError> {
        self.array().map(u8::from_le_bytes)
    }
    pub(crate) fn u16(&mut self) -> Result<u16, SegmentError> {
        self.array().map(u16::from_le_bytes)
    }
    pub(crate) fn u32(&mut self) -> Result<u32, SegmentError> {
        self.array().map(u32::from_le_bytes)
    }
    pub(crate) fn i32(&mut self) -> Result<i32, SegmentError> {
        self.array().map(i32::from_le_bytes)
    }
    pub(crate) fn u64(&mut self) -> Result<u64, SegmentError> {
        self.array().map(u64::from_le_bytes)
    }
    pub(crate) fn i64(&mut self) -> Result<i64, SegmentError> {
        self.array().map(i64::from_le_bytes)
    }
}

/// A [`SegmentError::Truncated`] for `what`, which needed `needed` bytes.
pub(crate) fn truncated(what: &'static str, bytes: &[u8], needed: usize) -> SegmentError {
    SegmentError::Truncated { what, needed: needed as u64, available: bytes.len() as u64 }
}
