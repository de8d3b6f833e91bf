//! One direction of a proxied connection: a reader that stamps each chunk with its
//! release time, a bounded delay line, and a writer that releases chunks on time and
//! through the token bucket.

use super::shape::{Schedule, TokenBucket};
use super::{Control, Direction};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

/// Bytes read per chunk.
const CHUNK_BYTES: usize = 64 << 10;
/// Bytes one direction of one connection may hold in its delay line: the simulated
/// link's own buffer. Generous (64 MiB holds 100 ms at 5 Gbit/s), so the applications'
/// windows, not the proxy, bound throughput; once full, the reader stops and TCP flow
/// control pushes back on the sender.
const LINE_BYTES: usize = 64 << 20;

struct Chunk {
    release: Instant,
    data: Vec<u8>,
}

/// Copies `from` to `to` until `from` ends, then shuts `to` down.
pub(super) async fn run(from: OwnedReadHalf, to: OwnedWriteHalf, control: Arc<Control>, dir: Direction, seed: u64) {
    let (tx, rx) = mpsc::unbounded_channel();
    let room = Arc::new(Semaphore::new(LINE_BYTES));
    let reader = read_side(from, tx, control.clone(), dir, seed, room.clone());
    let writer = write_side(to, rx, control, dir, room);
    let _ = tokio::join!(reader, writer);
}

async fn read_side(
    mut from: OwnedReadHalf,
    tx: mpsc::UnboundedSender<Chunk>,
    control: Arc<Control>,
    dir: Direction,
    seed: u64,
    room: Arc<Semaphore>,
) -> std::io::Result<()> {
    let mut schedule = Schedule::new(seed);
    loop {
        let mut data = vec![0u8; CHUNK_BYTES];
        let n = from.read(&mut data).await?;
        if n == 0 {
            return Ok(()); // dropping `tx` tells the writer to finish and shut down
        }
        data.truncate(n);
        let arrival = Instant::now();
        let shape = dir.shape(&control.shaping());
        let release = Instant::from_std(schedule.release(arrival.into_std(), &shape));
        dir.counters(&control).record_chunk(n, release - arrival);
        // Waiting for room after stamping: the wait is the link being full, which a
        // real sender would see as back-pressure, not as extra latency.
        let Ok(permit) = room.acquire_many(n as u32).await else { return Ok(()) };
        permit.forget();
        if tx.send(Chunk { release, data }).is_err() {
            return Ok(()); // writer failed; the connection is going away
        }
    }
}

async fn write_side(
    mut to: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Chunk>,
    control: Arc<Control>,
    dir: Direction,
    room: Arc<Semaphore>,
) -> std::io::Result<()> {
    let result = write_chunks(&mut to, &mut rx, &control, dir, &room).await;
    // A reader waiting for room must not wait for a writer that is gone.
    room.close();
    result?;
    to.shutdown().await
}

async fn write_chunks(
    to: &mut OwnedWriteHalf,
    rx: &mut mpsc::UnboundedReceiver<Chunk>,
    control: &Control,
    dir: Direction,
    room: &Semaphore,
) -> std::io::Result<()> {
    let mut bucket: Option<TokenBucket> = None;
    while let Some(chunk) = rx.recv().await {
        tokio::time::sleep_until(chunk.release).await;
        let mut sent = 0;
        while sent < chunk.data.len() {
            let piece = match dir.shape(&control.shaping()).bandwidth {
                None => chunk.data.len() - sent,
                Some(rate) => {
                    let now = Instant::now().into_std();
                    let bucket = match &mut bucket {
                        Some(b) if b.rate() == rate => b,
                        // A new or changed cap starts with a full bucket.
                        slot => slot.insert(TokenBucket::new(rate, now)),
                    };
                    let piece = (chunk.data.len() - sent).min(bucket.capacity() as usize);
                    let wait = bucket.take(piece as u64, now);
                    if !wait.is_zero() {
                        dir.counters(control).record_throttle(wait);
                        tokio::time::sleep(wait).await;
                    }
                    piece
                }
            };
            to.write_all(&chunk.data[sent..sent + piece]).await?;
            sent += piece;
        }
        room.add_permits(chunk.data.len());
    }
    Ok(())
}
