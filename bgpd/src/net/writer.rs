//! The write side of a connection: a task fed by a bounded queue ([`spawn_writer`]).

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Most messages handed to one `writev` (Linux `IOV_MAX` is 1024; a batch this size is
/// already far beyond a socket buffer's worth of KEEPALIVEs).
const MAX_BATCH_MESSAGES: usize = 64;
/// Most octets gathered into one `writev`.
const MAX_BATCH_BYTES: usize = 256 * 1024;

/// Queues encoded messages for the writer task of one connection; cheap to clone.
///
/// When every `MessageSender` is dropped, the writer writes what is still queued, shuts the
/// write side of the connection down (TCP FIN) and ends: send the NOTIFICATION, drop the
/// senders, then wait on [`WriterHandle::join`] (with a timeout: a peer that stopped reading
/// never takes the rest).
#[derive(Clone, Debug)]
pub struct MessageSender {
    tx: mpsc::Sender<Bytes>,
    queued: Arc<AtomicUsize>,
}

impl MessageSender {
    /// Queues one message, waiting while the queue is full (back-pressure from a slow peer).
    ///
    /// Cancel safe: if the future is dropped while waiting, nothing was queued.
    ///
    /// # Errors
    ///
    /// The writer has ended (write error or aborted); the message comes back in the error.
    pub async fn send(&self, message: Bytes) -> Result<(), mpsc::error::SendError<Bytes>> {
        // Reserve first, count second: a send cancelled while waiting for room must not
        // leave its length in the queue depth.
        let Ok(permit) = self.tx.reserve().await else {
            return Err(mpsc::error::SendError(message));
        };
        self.queued.fetch_add(message.len(), Ordering::Relaxed);
        permit.send(message);
        Ok(())
    }

    /// Queues one message if there is room, without waiting.
    ///
    /// # Errors
    ///
    /// `Full` (the peer is not keeping up: hold the message, or let the RFC 9687
    /// SendHoldTimer decide) or `Closed` (the writer has ended); the message comes back.
    pub fn try_send(&self, message: Bytes) -> Result<(), mpsc::error::TrySendError<Bytes>> {
        match self.tx.try_reserve() {
            Ok(permit) => {
                self.queued.fetch_add(message.len(), Ordering::Relaxed);
                permit.send(message);
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(())) => {
                Err(mpsc::error::TrySendError::Full(message))
            }
            Err(mpsc::error::TrySendError::Closed(())) => {
                Err(mpsc::error::TrySendError::Closed(message))
            }
        }
    }

    /// Octets queued and not yet accepted by the socket (the "queue depth" metric).
    pub fn queued_bytes(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Whether the writer has ended.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// The writer task of one connection: progress, queue depth, and its outcome.
#[derive(Debug)]
pub struct WriterHandle {
    progress: watch::Receiver<u64>,
    queued: Arc<AtomicUsize>,
    task: JoinHandle<io::Result<()>>,
}

impl WriterHandle {
    /// A receiver of the total number of octets the socket has accepted so far.
    ///
    /// Each change is transport progress: feed `bgp_fsm::Event::DataSent` (RFC 9687: the
    /// SendHoldTimer restarts). Also feed `DataSent` when [`WriterHandle::queued_bytes`] is 0
    /// (nothing to send is not a stall). `changed()` returns an error once the writer has
    /// ended.
    pub fn progress(&self) -> watch::Receiver<u64> {
        self.progress.clone()
    }

    /// Octets the socket has accepted so far.
    pub fn bytes_written(&self) -> u64 {
        *self.progress.borrow()
    }

    /// Octets queued and not yet accepted by the socket (the "queue depth" metric).
    pub fn queued_bytes(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Whether the task has ended (all senders dropped and queue written, or an error).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops the task at once, dropping what is queued (e.g. when the send hold timer
    /// expired and the peer is not reading).
    pub fn abort(&self) {
        self.task.abort();
    }

    /// Waits for the task to end: `Ok` once the queue was written and the write side shut
    /// down, the write error otherwise (`Interrupted` if it was aborted).
    pub async fn join(self) -> io::Result<()> {
        match self.task.await {
            Ok(result) => result,
            Err(e) if e.is_cancelled() => Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "writer task aborted",
            )),
            Err(e) => Err(io::Error::other(e)),
        }
    }
}

/// Spawns the task that writes queued messages to `io` (normally the `OwnedWriteHalf` of a
/// peer's `TcpStream`); `queue_capacity` messages can wait before [`MessageSender::send`]
/// waits (at least 1).
///
/// The task writes everything that is queued with one `writev` where it can (up to 64
/// messages, 256 KiB), so a burst of UPDATEs costs few system calls, and never copies a
/// message. Must be called inside a tokio runtime.
pub fn spawn_writer<W>(io: W, queue_capacity: usize) -> (MessageSender, WriterHandle)
where
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::channel(queue_capacity.max(1));
    let (progress_tx, progress) = watch::channel(0u64);
    let queued = Arc::new(AtomicUsize::new(0));
    let task = tokio::spawn(write_loop(io, rx, progress_tx, Arc::clone(&queued)));
    (
        MessageSender {
            tx,
            queued: Arc::clone(&queued),
        },
        WriterHandle {
            progress,
            queued,
            task,
        },
    )
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut io: W,
    mut rx: mpsc::Receiver<Bytes>,
    progress: watch::Sender<u64>,
    queued: Arc<AtomicUsize>,
) -> io::Result<()> {
    let mut pending: VecDeque<Bytes> = VecDeque::with_capacity(MAX_BATCH_MESSAGES);
    let mut pending_bytes = 0usize;
    loop {
        if pending.is_empty() {
            match rx.recv().await {
                Some(message) => {
                    pending_bytes += message.len();
                    pending.push_back(message);
                }
                None => break,
            }
        }
        while pending.len() < MAX_BATCH_MESSAGES && pending_bytes < MAX_BATCH_BYTES {
            match rx.try_recv() {
                Ok(message) => {
                    pending_bytes += message.len();
                    pending.push_back(message);
                }
                Err(_) => break,
            }
        }
        pending.retain(|m| !m.is_empty());
        if pending.is_empty() {
            continue;
        }

        let written = {
            let mut slices = [IoSlice::new(&[]); MAX_BATCH_MESSAGES];
            let mut count = 0;
            for (slot, message) in slices.iter_mut().zip(pending.iter()) {
                *slot = IoSlice::new(message);
                count += 1;
            }
            io.write_vectored(slices.get(..count).unwrap_or_default())
                .await?
        };
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        consume(&mut pending, written);
        pending_bytes -= written;
        queued.fetch_sub(written, Ordering::Relaxed);
        progress.send_modify(|total| *total += written as u64);
    }
    io.flush().await?;
    io.shutdown().await
}

/// Drops the first `written` octets from the front of the queue.
fn consume(pending: &mut VecDeque<Bytes>, mut written: usize) {
    while written > 0 {
        let Some(front) = pending.front_mut() else {
            return;
        };
        if front.len() <= written {
            written -= front.len();
            pending.pop_front();
        } else {
            front.advance(written);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consume_handles_partial_writes() {
        let mut q: VecDeque<Bytes> = [&b"abc"[..], b"de", b"fgh"]
            .into_iter()
            .map(Bytes::from_static)
            .collect();
        consume(&mut q, 4);
        assert_eq!(
            q.iter().map(|b| &b[..]).collect::<Vec<_>>(),
            [&b"e"[..], b"fgh"]
        );
        consume(&mut q, 4);
        assert!(q.is_empty());
    }
}
