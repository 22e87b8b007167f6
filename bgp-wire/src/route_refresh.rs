//! ROUTE-REFRESH (RFC 2918 §3, RFC 7313 §3).
//!
//! ```text
//!  0       7      15      23      31
//! +-------+-------+-------+-------+
//! |      AFI      | Subtype | SAFI |   Subtype: 0 normal, 1 BoRR, 2 EoRR (RFC 7313)
//! +-------+-------+-------+-------+
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::Error;
use crate::header::{self, HEADER_LEN};
use crate::types::{Afi, Family, MessageType, Safi};

/// ROUTE-REFRESH message subtype (RFC 7313 §3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct RefreshSubtype(pub u8);

impl RefreshSubtype {
    /// 0: normal route refresh request.
    pub const REQUEST: RefreshSubtype = RefreshSubtype(0);
    /// 1: Beginning of Route Refresh.
    pub const BEGIN: RefreshSubtype = RefreshSubtype(1);
    /// 2: End of Route Refresh.
    pub const END: RefreshSubtype = RefreshSubtype(2);

    /// RFC 7313 §5: a subtype other than 0, 1 or 2 must be ignored by the receiver.
    pub fn is_known(self) -> bool {
        self.0 <= 2
    }
}

/// A ROUTE-REFRESH message.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct RouteRefresh {
    /// Family to refresh.
    pub family: Family,
    /// Subtype.
    pub subtype: RefreshSubtype,
}

impl RouteRefresh {
    /// A plain refresh request.
    pub fn request(family: Family) -> Self {
        RouteRefresh {
            family,
            subtype: RefreshSubtype::REQUEST,
        }
    }

    /// Decodes a whole message (header included).
    pub fn decode(message: &Bytes) -> Result<RouteRefresh, Error> {
        let body = message.get(HEADER_LEN..).unwrap_or(&[]);
        match body {
            [a0, a1, subtype, safi] => Ok(RouteRefresh {
                family: Family::new(Afi(u16::from_be_bytes([*a0, *a1])), Safi(*safi)),
                subtype: RefreshSubtype(*subtype),
            }),
            // RFC 7313 §5: a BoRR or EoRR whose length is not 4 (after the header) gets
            // ROUTE-REFRESH Message Error / Invalid Message Length with the whole message.
            [_, _, 1 | 2, ..] => Err(Error::RouteRefreshInvalidLength {
                message: message.clone(),
            }),
            _ => Err(Error::BadMessageLength {
                length: message.len().min(usize::from(u16::MAX)) as u16,
            }),
        }
    }

    /// Encodes the message.
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(HEADER_LEN + 4);
        let start = header::start_header(&mut out, MessageType::ROUTE_REFRESH);
        out.put_u16(self.family.afi.0);
        out.put_u8(self.subtype.0);
        out.put_u8(self.family.safi.0);
        header::finish_header(&mut out, start);
        out.freeze()
    }
}
