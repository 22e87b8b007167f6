//! Framing and the writer task, over in-memory streams (no sockets).

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bgp_wire::{Error, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN};
use bgpd::net::{FrameReader, ReadError, spawn_writer};
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(2);

/// A message of `len` octets and `message_type` with a recognisable body.
fn message(message_type: u8, len: usize, fill: u8) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&u16::try_from(len).expect("len fits").to_be_bytes());
    m.push(message_type);
    m.resize(len, fill);
    m
}

fn keepalive() -> Vec<u8> {
    message(4, 19, 0)
}

fn update(len: usize, fill: u8) -> Vec<u8> {
    message(2, len, fill)
}

/// A reader that hands out the given chunks, one per `poll_read` (split further if the
/// caller's buffer is smaller), then EOF.
struct Chunks {
    chunks: VecDeque<Vec<u8>>,
    /// Largest buffer space ever offered by the caller.
    largest_request: usize,
}

impl Chunks {
    fn new(chunks: impl IntoIterator<Item = Vec<u8>>) -> Self {
        Self {
            chunks: chunks.into_iter().collect(),
            largest_request: 0,
        }
    }
}

impl AsyncRead for Chunks {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.largest_request = self.largest_request.max(buf.remaining());
        if let Some(mut chunk) = self.chunks.pop_front() {
            let n = chunk.len().min(buf.remaining());
            buf.put_slice(&chunk[..n]);
            if n < chunk.len() {
                self.chunks.push_front(chunk.split_off(n));
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// A reader producing an endless stream of maximum-size UPDATEs, filling any buffer offered.
struct Flood {
    pattern: Vec<u8>,
    offset: usize,
    largest_request: usize,
}

impl AsyncRead for Flood {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.largest_request = self.largest_request.max(buf.remaining());
        while buf.remaining() > 0 {
            let offset = self.offset;
            let n = (self.pattern.len() - offset).min(buf.remaining());
            buf.put_slice(&self.pattern[offset..offset + n]);
            self.offset = (offset + n) % self.pattern.len();
        }
        Poll::Ready(Ok(()))
    }
}

async fn read_all<R: AsyncRead + Unpin>(reader: &mut FrameReader<R>) -> Vec<Bytes> {
    let mut out = Vec::new();
    while let Some(m) = timeout(WAIT, reader.read_message())
        .await
        .expect("no hang")
        .expect("valid stream")
    {
        out.push(m);
    }
    out
}

/// In a `net` module so `cargo test -p bgpd net` selects these tests by name.
mod net {
    use super::*;

    #[tokio::test]
    async fn message_split_across_many_reads() {
        let m = update(300, 7);
        // Header split inside the marker, inside the length field, and the body in pieces.
        let chunks = vec![
            m[..5].to_vec(),
            m[5..17].to_vec(),
            m[17..19].to_vec(),
            m[19..20].to_vec(),
            m[20..200].to_vec(),
            m[200..].to_vec(),
        ];
        let mut reader = FrameReader::new(Chunks::new(chunks));
        let got = read_all(&mut reader).await;
        assert_eq!(got, vec![Bytes::from(m)]);
    }

    #[tokio::test]
    async fn several_messages_in_one_read() {
        let messages = [keepalive(), update(100, 1), keepalive(), update(4096, 2)];
        let mut wire = messages.concat();
        // And the start of one more in the same read, finished by the next.
        let tail = update(50, 3);
        wire.extend_from_slice(&tail[..30]);
        let mut reader = FrameReader::new(Chunks::new([wire, tail[30..].to_vec()]));
        let got = read_all(&mut reader).await;
        let mut want: Vec<Bytes> = messages.iter().cloned().map(Bytes::from).collect();
        want.push(Bytes::from(tail));
        assert_eq!(got, want);
        assert_eq!(reader.buffered(), 0);
    }

    #[tokio::test]
    async fn every_split_point_gives_the_same_messages() {
        let wire = [keepalive(), update(64, 9), keepalive()].concat();
        for cut in 1..wire.len() {
            let mut reader =
                FrameReader::new(Chunks::new([wire[..cut].to_vec(), wire[cut..].to_vec()]));
            let got = read_all(&mut reader).await;
            assert_eq!(got.concat(), wire, "cut at {cut}");
            assert_eq!(got.len(), 3, "cut at {cut}");
        }
    }

    #[tokio::test]
    async fn message_over_the_maximum_is_a_header_error() {
        let mut reader = FrameReader::new(Chunks::new([update(4097, 0)]));
        match reader.read_message().await {
            Err(ReadError::Header(e)) => {
                assert_eq!(e, Error::BadMessageLength { length: 4097 });
                let n = e.notification();
                assert_eq!(
                    (n.code.0, n.subcode),
                    (1, 2),
                    "Message Header Error / Bad Length"
                );
            }
            other => panic!("expected a header error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn header_error_does_not_wait_for_the_body() {
        // Only the header of an oversized message arrives, and the stream stays open.
        let (mut client, server) = tokio::io::duplex(1024);
        let header = update(5000, 0)[..19].to_vec();
        tokio::io::AsyncWriteExt::write_all(&mut client, &header)
            .await
            .expect("write");
        let mut reader = FrameReader::new(server);
        let result = timeout(WAIT, reader.read_message())
            .await
            .expect("header error reported before any body");
        assert!(
            matches!(
                result,
                Err(ReadError::Header(Error::BadMessageLength { length: 5000 }))
            ),
            "{result:?}"
        );
        drop(client);
    }

    #[tokio::test]
    async fn bad_marker_and_type_are_header_errors() {
        let mut bad_marker = keepalive();
        bad_marker[0] = 0;
        let mut reader = FrameReader::new(Chunks::new([bad_marker]));
        assert!(matches!(
            reader.read_message().await,
            Err(ReadError::Header(Error::ConnectionNotSynchronized))
        ));
        let mut reader = FrameReader::new(Chunks::new([message(42, 19, 0)]));
        assert!(matches!(
            reader.read_message().await,
            Err(ReadError::Header(Error::BadMessageType {
                message_type: 42
            }))
        ));
    }

    #[tokio::test]
    async fn extended_messages_after_negotiation() {
        let big = update(MAX_EXTENDED_MESSAGE_LEN, 5);
        let mut reader = FrameReader::new(Chunks::new([keepalive(), big.clone(), update(8000, 6)]));
        assert_eq!(reader.max_message_len(), MAX_MESSAGE_LEN);
        let first = reader.read_message().await.expect("ok").expect("keepalive");
        assert_eq!(first.len(), 19);
        // RFC 8654 negotiated: the daemon raises the limit.
        reader.set_max_message_len(MAX_EXTENDED_MESSAGE_LEN);
        let second = reader
            .read_message()
            .await
            .expect("ok")
            .expect("big update");
        assert_eq!(second, Bytes::from(big));
        let third = reader.read_message().await.expect("ok").expect("8000");
        assert_eq!(third.len(), 8000);
        assert!(reader.read_message().await.expect("eof").is_none());
        // Clamped to the protocol range.
        reader.set_max_message_len(1_000_000);
        assert_eq!(reader.max_message_len(), MAX_EXTENDED_MESSAGE_LEN);
        reader.set_max_message_len(10);
        assert_eq!(reader.max_message_len(), MAX_MESSAGE_LEN);
    }

    #[tokio::test]
    async fn eof_inside_a_message_is_an_error() {
        let m = update(100, 1);
        let mut reader = FrameReader::new(Chunks::new([m[..60].to_vec()]));
        match reader.read_message().await {
            Err(ReadError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof),
            other => panic!("expected UnexpectedEof, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn buffer_stays_bounded_whatever_the_peer_sends() {
        for max in [MAX_MESSAGE_LEN, MAX_EXTENDED_MESSAGE_LEN] {
            let pattern = [update(max, 1), keepalive()].concat();
            let mut reader = FrameReader::new(Flood {
                pattern,
                offset: 0,
                largest_request: 0,
            });
            reader.set_max_message_len(max);
            for _ in 0..200 {
                let m = reader.read_message().await.expect("ok").expect("message");
                assert!(m.len() == max || m.len() == 19);
                // Besides the message just cut, at most one maximum-size message was read
                // ahead.
                assert!(
                    m.len() + reader.buffered() <= 2 * max,
                    "{} + {} > 2 * {max}",
                    m.len(),
                    reader.buffered()
                );
            }
            let (flood, _) = reader.into_parts();
            assert!(
                flood.largest_request <= 2 * max,
                "asked for {} octets at once with max {max}",
                flood.largest_request
            );
        }
    }

    #[tokio::test]
    async fn messages_are_split_off_without_copying() {
        let wire = [update(100, 1), update(100, 2)].concat();
        let mut reader = FrameReader::new(Chunks::new([wire]));
        let a = reader.read_message().await.expect("ok").expect("a");
        let b = reader.read_message().await.expect("ok").expect("b");
        // Both views sit back to back in the one receive buffer.
        assert_eq!(a.as_ptr().wrapping_add(a.len()), b.as_ptr());
    }

    #[tokio::test]
    async fn writer_writes_in_order_reports_progress_and_shuts_down() {
        let (client, mut server) = tokio::io::duplex(64 * 1024);
        let (sender, handle) = spawn_writer(client, 16);
        let mut progress = handle.progress();
        let messages: Vec<Bytes> = (0..50u8)
            .map(|i| Bytes::from(update(100 + usize::from(i), i)))
            .collect();
        let total: usize = messages.iter().map(Bytes::len).sum();
        for m in &messages {
            sender.send(m.clone()).await.expect("queued");
        }
        // Progress reaches the total, observed through the watch channel.
        timeout(WAIT, progress.wait_for(|&n| n == total as u64))
            .await
            .expect("progress in time")
            .expect("writer alive");
        assert_eq!(handle.bytes_written(), total as u64);
        assert_eq!(sender.queued_bytes(), 0);
        // Closing the queue flushes and shuts the write side down: the reader sees EOF.
        drop(sender);
        let mut received = Vec::new();
        timeout(WAIT, server.read_to_end(&mut received))
            .await
            .expect("eof in time")
            .expect("read");
        assert_eq!(received, messages.concat());
        timeout(WAIT, handle.join())
            .await
            .expect("joined")
            .expect("clean end");
    }

    #[tokio::test]
    async fn queue_depth_counts_what_the_peer_has_not_taken() {
        // A 1 KiB pipe nobody reads: the writer stalls and the queue fills.
        let (client, server) = tokio::io::duplex(1024);
        let (sender, handle) = spawn_writer(client, 4);
        let m = Bytes::from(update(1000, 1));
        let mut queued = 0;
        while sender.try_send(m.clone()).is_ok() {
            queued += 1;
            assert!(queued < 100, "a bounded queue must fill");
            // Let the writer take what it can.
            tokio::task::yield_now().await;
        }
        assert!(queued >= 4);
        let depth = sender.queued_bytes();
        let written = handle.bytes_written() as usize;
        assert_eq!(depth + written, queued * m.len());
        assert!(written <= 1024, "only the pipe's capacity got through");
        assert_eq!(handle.queued_bytes(), depth);
        // A stuck peer: abort instead of waiting for the flush.
        handle.abort();
        let err = timeout(WAIT, handle.join())
            .await
            .expect("ends")
            .expect_err("aborted");
        assert_eq!(err.kind(), io::ErrorKind::Interrupted);
        drop(server);
    }

    #[tokio::test]
    async fn cancelled_send_is_not_counted() {
        // Nobody reads a 19-octet pipe and the queue holds one message: fill both.
        let (client, server) = tokio::io::duplex(19);
        let (sender, handle) = spawn_writer(client, 1);
        let m = Bytes::from(keepalive());
        let mut accepted = 0;
        loop {
            match sender.try_send(m.clone()) {
                Ok(()) => accepted += 1,
                Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => break,
                Err(e) => panic!("writer ended: {e}"),
            }
            assert!(accepted < 10, "a bounded queue must fill");
            tokio::task::yield_now().await;
        }
        let depth = sender.queued_bytes();
        assert_eq!(depth as u64 + handle.bytes_written(), accepted * 19);
        // A further send waits for room; give up on it (as a losing select! branch would).
        assert!(
            timeout(Duration::from_millis(50), sender.send(m.clone()))
                .await
                .is_err()
        );
        assert_eq!(
            sender.queued_bytes(),
            depth,
            "the cancelled send left no trace"
        );
        handle.abort();
        drop(server);
    }

    #[tokio::test]
    async fn write_error_ends_the_writer() {
        let (client, server) = tokio::io::duplex(64);
        drop(server);
        let (sender, handle) = spawn_writer(client, 4);
        sender
            .send(Bytes::from(keepalive()))
            .await
            .expect("queued before the task saw the error");
        let err = timeout(WAIT, handle.join())
            .await
            .expect("ends")
            .expect_err("broken pipe");
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert!(sender.is_closed());
        assert!(sender.send(Bytes::from(keepalive())).await.is_err());
    }
}
