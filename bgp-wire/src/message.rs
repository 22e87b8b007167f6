//! Whole messages: decode dispatch and the simple encoders.

use bytes::{Bytes, BytesMut};

use crate::error::Error;
use crate::header::{self, HEADER_LEN, frame_len};
use crate::notification::Notification;
use crate::open::Open;
use crate::route_refresh::RouteRefresh;
use crate::session::SessionParams;
use crate::types::MessageType;
use crate::update::UpdateRef;

/// A decoded message.
#[derive(Clone, Debug)]
pub enum Message {
    /// OPEN.
    Open(Open),
    /// UPDATE, as a validated view.
    Update(UpdateRef),
    /// NOTIFICATION.
    Notification(Notification),
    /// KEEPALIVE.
    Keepalive,
    /// ROUTE-REFRESH.
    RouteRefresh(RouteRefresh),
}

impl Message {
    /// The message type.
    pub fn message_type(&self) -> MessageType {
        match self {
            Message::Open(_) => MessageType::OPEN,
            Message::Update(_) => MessageType::UPDATE,
            Message::Notification(_) => MessageType::NOTIFICATION,
            Message::Keepalive => MessageType::KEEPALIVE,
            Message::RouteRefresh(_) => MessageType::ROUTE_REFRESH,
        }
    }
}

/// Decodes one whole message (header included, e.g. as cut by [`frame_len`]).
///
/// The header is checked again here, so arbitrary bytes are safe input. `message` must hold
/// exactly one message.
pub fn decode(message: Bytes, params: &SessionParams) -> Result<Message, Error> {
    let len = match frame_len(&message, params.max_message_len())? {
        Some(len) => len,
        None => {
            return Err(Error::BadMessageLength {
                length: message.len() as u16,
            });
        }
    };
    if len != message.len() {
        // The length field disagrees with what the caller framed.
        let length = message.get(16..18).map_or(0, crate::update::be16);
        return Err(Error::BadMessageLength { length });
    }
    let message_type = MessageType(message.get(18).copied().unwrap_or(0));
    Ok(match message_type {
        MessageType::OPEN => Message::Open(Open::decode(&message)?),
        MessageType::UPDATE => Message::Update(UpdateRef::decode(message, params)?),
        MessageType::NOTIFICATION => {
            let body = message.slice(HEADER_LEN..);
            let code = body.first().copied().unwrap_or(0);
            let subcode = body.get(1).copied().unwrap_or(0);
            Message::Notification(Notification::new(
                crate::notification::ErrorCode(code),
                subcode,
                body.slice(2.min(body.len())..),
            ))
        }
        MessageType::KEEPALIVE => Message::Keepalive,
        MessageType::ROUTE_REFRESH => Message::RouteRefresh(RouteRefresh::decode(&message)?),
        MessageType(other) => {
            return Err(Error::BadMessageType {
                message_type: other,
            });
        }
    })
}

/// A KEEPALIVE message (header only).
pub fn keepalive() -> Bytes {
    let mut out = BytesMut::with_capacity(HEADER_LEN);
    let start = header::start_header(&mut out, MessageType::KEEPALIVE);
    header::finish_header(&mut out, start);
    out.freeze()
}

impl Notification {
    /// Encodes the NOTIFICATION message. Data beyond what fits 4096 octets is cut: a
    /// NOTIFICATION must still go out.
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(HEADER_LEN + self.body_len());
        let start = header::start_header(&mut out, MessageType::NOTIFICATION);
        self.encode_body(&mut out);
        out.truncate(start + header::MAX_MESSAGE_LEN);
        header::finish_header(&mut out, start);
        out.freeze()
    }
}
