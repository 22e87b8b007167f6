//! Cutting the TCP byte stream into BGP messages ([`FrameReader`]).

use std::fmt;
use std::io;

use bgp_wire::{MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN};
use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Why [`FrameReader::read_message`] could not return a message.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// The connection failed, or closed in the middle of a message (`UnexpectedEof`).
    /// Feed `bgp_fsm::Event::TcpConnectionFails`.
    Io(io::Error),
    /// The RFC 4271 §6.1 header check failed (marker, length or type). Feed
    /// `bgp_fsm::Event::BgpHeaderErr`; the FSM answers with the NOTIFICATION the error
    /// names. The reader is then stuck on the bad header: drop it.
    Header(bgp_wire::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "read failed: {e}"),
            ReadError::Header(e) => write!(f, "bad message header: {e}"),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(e) => Some(e),
            ReadError::Header(e) => Some(e),
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// Reads whole BGP messages from a byte stream (normally the read half of a peer's
/// `TcpStream`).
///
/// Each message comes out as the [`Bytes`] of the complete message, header included,
/// split off the receive buffer without copying, ready for `bgp_wire::decode`.
///
/// Memory is bounded: the buffer never holds more than twice the maximum message length
/// (the message being assembled plus at most one maximum-size message read ahead), 8 KiB
/// per peer by default and 128 KiB with RFC 8654 extended messages, whatever the peer
/// sends. Messages already returned share the buffer's allocation until the caller drops
/// them. A header is checked (`bgp_wire::frame_len`) as soon as its 19 octets are in, so a
/// bad length is reported without waiting for a body that may never come.
#[derive(Debug)]
pub struct FrameReader<R> {
    io: R,
    buf: BytesMut,
    max_message_len: usize,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader with the RFC 4271 maximum message length of 4096 octets.
    pub fn new(io: R) -> Self {
        Self {
            io,
            buf: BytesMut::with_capacity(2 * MAX_MESSAGE_LEN),
            max_message_len: MAX_MESSAGE_LEN,
        }
    }

    /// Sets the largest message accepted: call with 65535 once RFC 8654 extended messages
    /// are negotiated (`bgp_wire::SessionParams::max_message_len`). Values are clamped to
    /// 4096..=65535; OPEN and KEEPALIVE stay limited to 4096 and 19 octets whatever it is
    /// (RFC 8654 §3). Applies to everything not yet returned, including octets already
    /// buffered.
    pub fn set_max_message_len(&mut self, len: usize) {
        self.max_message_len = len.clamp(MAX_MESSAGE_LEN, MAX_EXTENDED_MESSAGE_LEN);
    }

    /// The largest message currently accepted.
    pub fn max_message_len(&self) -> usize {
        self.max_message_len
    }

    /// Octets received and not yet returned as a message.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &R {
        &self.io
    }

    /// Gives back the stream and the octets read from it but not yet returned.
    pub fn into_parts(self) -> (R, BytesMut) {
        (self.io, self.buf)
    }

    /// Reads the next whole message.
    ///
    /// * `Ok(Some(message))`: one message, header included.
    /// * `Ok(None)`: the peer closed the connection between two messages.
    /// * `Err(ReadError::Header(e))`: RFC 4271 §6.1 header error; send its NOTIFICATION.
    /// * `Err(ReadError::Io(e))`: the connection failed or closed mid-message.
    ///
    /// Cancel safe: if the future is dropped (e.g. a `tokio::select!` branch losing), no
    /// octets are lost; the next call continues where this one stopped.
    pub async fn read_message(&mut self) -> Result<Option<Bytes>, ReadError> {
        loop {
            if let Some(message) = self.try_split()? {
                return Ok(Some(message));
            }
            // Here the buffer holds less than one message (a partial header, or a message
            // whose length is at most max_message_len), so there is room for more than one
            // maximum-size message without exceeding the 2 * max bound.
            let room = (2 * self.max_message_len).saturating_sub(self.buf.len());
            self.buf.reserve(room);
            let read = self.io.read_buf(&mut (&mut self.buf).limit(room)).await?;
            if read == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(ReadError::Io(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "connection closed inside a message ({} octets buffered)",
                            self.buf.len()
                        ),
                    )))
                };
            }
        }
    }

    /// Cuts one message off the buffer if a whole one is there.
    fn try_split(&mut self) -> Result<Option<Bytes>, ReadError> {
        match bgp_wire::frame_len(&self.buf, self.max_message_len) {
            Ok(Some(len)) if self.buf.len() >= len => Ok(Some(self.buf.split_to(len).freeze())),
            Ok(_) => Ok(None),
            Err(e) => Err(ReadError::Header(e)),
        }
    }
}
