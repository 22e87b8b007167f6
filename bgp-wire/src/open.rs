//! OPEN message (RFC 4271 §4.2) with optional parameters (RFC 5492, RFC 9072) and
//! capabilities.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+
//! |    Version    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     My Autonomous System      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Hold Time           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         BGP Identifier                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Opt Parm Len  |  (255 + type 255 + 2-octet length: RFC 9072)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |             Optional Parameters (variable)                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! OPEN arrives once per session and the FSM keeps what it says, so it decodes straight to
//! the owned [`Open`] rather than to a view.

use bytes::{BufMut, Bytes, BytesMut};
use nom::Parser;
use nom::bytes::complete::take;
use nom::number::complete::{be_u8, be_u16, be_u32};
use std::net::Ipv4Addr;

use crate::error::{BGP_VERSION, EncodeError, Error};
use crate::header::{self, HEADER_LEN, MAX_MESSAGE_LEN};
use crate::types::{AS_TRANS, Afi, CapabilityCode, Family, MessageType, Safi};

/// Optional parameter type: Capabilities (RFC 5492).
const PARAM_CAPABILITIES: u8 = 2;
/// RFC 9072 marker for the extended optional parameters format.
const PARAM_EXTENDED: u8 = 255;

type IResult<'a, T> = nom::IResult<&'a [u8], T, ()>;

/// ADD-PATH direction (RFC 7911 §4).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum AddPathMode {
    /// 1: able to receive multiple paths.
    Receive = 1,
    /// 2: able to send multiple paths.
    Send = 2,
    /// 3: both.
    Both = 3,
}

impl AddPathMode {
    /// Whether this side can send.
    pub fn can_send(self) -> bool {
        matches!(self, AddPathMode::Send | AddPathMode::Both)
    }
    /// Whether this side can receive.
    pub fn can_receive(self) -> bool {
        matches!(self, AddPathMode::Receive | AddPathMode::Both)
    }
}

/// BGP role (RFC 9234 §4.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Role(pub u8);

impl Role {
    /// 0: Provider.
    pub const PROVIDER: Role = Role(0);
    /// 1: Route Server.
    pub const ROUTE_SERVER: Role = Role(1);
    /// 2: Route Server Client.
    pub const RS_CLIENT: Role = Role(2);
    /// 3: Customer.
    pub const CUSTOMER: Role = Role(3);
    /// 4: Peer (lateral).
    pub const PEER: Role = Role(4);

    /// The RFC 9234 name of the role.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Role::PROVIDER => "provider",
            Role::ROUTE_SERVER => "route-server",
            Role::RS_CLIENT => "route-server-client",
            Role::CUSTOMER => "customer",
            Role::PEER => "peer",
            _ => return None,
        })
    }

    /// The role the other side must have for the pair to be consistent (RFC 9234 §4.2).
    pub fn expected_peer_role(self) -> Option<Role> {
        Some(match self {
            Role::PROVIDER => Role::CUSTOMER,
            Role::CUSTOMER => Role::PROVIDER,
            Role::ROUTE_SERVER => Role::RS_CLIENT,
            Role::RS_CLIENT => Role::ROUTE_SERVER,
            Role::PEER => Role::PEER,
            _ => return None,
        })
    }
}

impl core::fmt::Display for Role {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "role {}", self.0),
        }
    }
}

/// Graceful Restart capability (RFC 4724 §3, N bit from RFC 8538).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct GracefulRestart {
    /// R bit: the sender has restarted.
    pub restart_state: bool,
    /// N bit (RFC 8538): the sender supports graceful NOTIFICATION.
    pub notification: bool,
    /// Restart time in seconds (12 bits).
    pub restart_time: u16,
    /// Families with their Forwarding State bit.
    pub families: Vec<(Family, bool)>,
}

/// One family of the Long-Lived Graceful Restart capability (RFC 9494 §3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct LlgrFamily {
    /// Family.
    pub family: Family,
    /// F bit: forwarding state preserved.
    pub forwarding: bool,
    /// Long-lived stale time in seconds (24 bits).
    pub stale_time: u32,
}

/// One entry of the Extended Next Hop capability (RFC 8950 §3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ExtendedNextHop {
    /// NLRI family (its SAFI travels in two octets here).
    pub nlri: Family,
    /// The next hop's address family.
    pub next_hop_afi: Afi,
}

/// A capability (RFC 5492). Unknown codes are kept raw.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Capability {
    /// Multiprotocol Extensions (RFC 4760 §8).
    Multiprotocol(Family),
    /// Route Refresh (RFC 2918).
    RouteRefresh,
    /// Extended Next Hop Encoding (RFC 8950).
    ExtendedNextHop(Vec<ExtendedNextHop>),
    /// Extended Message (RFC 8654).
    ExtendedMessage,
    /// BGP Role (RFC 9234).
    Role(Role),
    /// Graceful Restart (RFC 4724).
    GracefulRestart(GracefulRestart),
    /// 4-octet AS number (RFC 6793): the sender's real AS.
    FourOctetAs(u32),
    /// ADD-PATH (RFC 7911).
    AddPath(Vec<(Family, AddPathMode)>),
    /// Enhanced Route Refresh (RFC 7313).
    EnhancedRouteRefresh,
    /// Long-Lived Graceful Restart (RFC 9494).
    LongLivedGracefulRestart(Vec<LlgrFamily>),
    /// FQDN (hostname and domain name, draft-walton-bgp-hostname-capability). Names that
    /// are not UTF-8 decode as [`Capability::Unknown`], kept as received.
    Fqdn {
        /// Host name.
        hostname: String,
        /// Domain name.
        domain: String,
    },
    /// Any other capability, kept as received.
    Unknown {
        /// Code.
        code: CapabilityCode,
        /// Value.
        value: Bytes,
    },
}

impl Capability {
    /// The capability code.
    pub fn code(&self) -> CapabilityCode {
        match self {
            Capability::Multiprotocol(_) => CapabilityCode::MULTIPROTOCOL,
            Capability::RouteRefresh => CapabilityCode::ROUTE_REFRESH,
            Capability::ExtendedNextHop(_) => CapabilityCode::EXTENDED_NEXT_HOP,
            Capability::ExtendedMessage => CapabilityCode::EXTENDED_MESSAGE,
            Capability::Role(_) => CapabilityCode::ROLE,
            Capability::GracefulRestart(_) => CapabilityCode::GRACEFUL_RESTART,
            Capability::FourOctetAs(_) => CapabilityCode::FOUR_OCTET_AS,
            Capability::AddPath(_) => CapabilityCode::ADD_PATH,
            Capability::EnhancedRouteRefresh => CapabilityCode::ENHANCED_ROUTE_REFRESH,
            Capability::LongLivedGracefulRestart(_) => CapabilityCode::LONG_LIVED_GRACEFUL_RESTART,
            Capability::Fqdn { .. } => CapabilityCode::FQDN,
            Capability::Unknown { code, .. } => *code,
        }
    }

    /// Octets of the encoded value.
    fn value_len(&self) -> usize {
        match self {
            Capability::Multiprotocol(_) | Capability::FourOctetAs(_) => 4,
            Capability::RouteRefresh
            | Capability::ExtendedMessage
            | Capability::EnhancedRouteRefresh => 0,
            Capability::Role(_) => 1,
            Capability::ExtendedNextHop(v) => 6 * v.len(),
            Capability::GracefulRestart(g) => 2 + 4 * g.families.len(),
            Capability::AddPath(v) => 4 * v.len(),
            Capability::LongLivedGracefulRestart(v) => 7 * v.len(),
            Capability::Fqdn { hostname, domain } => {
                2 + hostname.len().min(255) + domain.len().min(255)
            }
            Capability::Unknown { value, .. } => value.len(),
        }
    }

    /// Encoded length including the 2-octet code/length header.
    pub fn encoded_len(&self) -> usize {
        2 + self.value_len()
    }

    /// Appends code, length and value.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        let len = u8::try_from(self.value_len()).map_err(|_| EncodeError::OpenTooLarge)?;
        out.put_u8(self.code().0);
        out.put_u8(len);
        match self {
            Capability::Multiprotocol(f) => {
                out.put_u16(f.afi.0);
                out.put_u8(0);
                out.put_u8(f.safi.0);
            }
            Capability::RouteRefresh
            | Capability::ExtendedMessage
            | Capability::EnhancedRouteRefresh => {}
            Capability::Role(r) => out.put_u8(r.0),
            Capability::ExtendedNextHop(v) => {
                for e in v {
                    out.put_u16(e.nlri.afi.0);
                    out.put_u16(u16::from(e.nlri.safi.0));
                    out.put_u16(e.next_hop_afi.0);
                }
            }
            Capability::GracefulRestart(g) => {
                let mut word = g.restart_time & 0x0fff;
                if g.restart_state {
                    word |= 0x8000;
                }
                if g.notification {
                    word |= 0x4000;
                }
                out.put_u16(word);
                for (f, fwd) in &g.families {
                    out.put_u16(f.afi.0);
                    out.put_u8(f.safi.0);
                    out.put_u8(if *fwd { 0x80 } else { 0 });
                }
            }
            Capability::FourOctetAs(asn) => out.put_u32(*asn),
            Capability::AddPath(v) => {
                for (f, mode) in v {
                    out.put_u16(f.afi.0);
                    out.put_u8(f.safi.0);
                    out.put_u8(*mode as u8);
                }
            }
            Capability::LongLivedGracefulRestart(v) => {
                for e in v {
                    out.put_u16(e.family.afi.0);
                    out.put_u8(e.family.safi.0);
                    out.put_u8(if e.forwarding { 0x80 } else { 0 });
                    let t = e.stale_time.min(0x00ff_ffff).to_be_bytes();
                    out.put_slice(t.get(1..).unwrap_or(&[]));
                }
            }
            Capability::Fqdn { hostname, domain } => {
                for s in [hostname, domain] {
                    let b = s.as_bytes();
                    let b = b.get(..b.len().min(255)).unwrap_or(&[]);
                    out.put_u8(b.len() as u8);
                    out.put_slice(b);
                }
            }
            Capability::Unknown { value, .. } => out.put_slice(value),
        }
        Ok(())
    }

    /// Decodes one capability value.
    pub fn decode(code: CapabilityCode, v: &[u8]) -> Result<Capability, Error> {
        let bad = |reason| Error::MalformedCapability { code, reason };
        let family3 = |a: u16, s: u8| Family::new(Afi(a), Safi(s));
        Ok(match code {
            CapabilityCode::MULTIPROTOCOL => {
                let [a0, a1, _reserved, s] = v else {
                    return Err(bad("length is not 4"));
                };
                Capability::Multiprotocol(family3(u16::from_be_bytes([*a0, *a1]), *s))
            }
            CapabilityCode::ROUTE_REFRESH
            | CapabilityCode::EXTENDED_MESSAGE
            | CapabilityCode::ENHANCED_ROUTE_REFRESH => {
                if !v.is_empty() {
                    return Err(bad("length is not 0"));
                }
                match code {
                    CapabilityCode::ROUTE_REFRESH => Capability::RouteRefresh,
                    CapabilityCode::EXTENDED_MESSAGE => Capability::ExtendedMessage,
                    _ => Capability::EnhancedRouteRefresh,
                }
            }
            CapabilityCode::ROLE => {
                let [r] = v else {
                    return Err(bad("length is not 1"));
                };
                Capability::Role(Role(*r))
            }
            CapabilityCode::FOUR_OCTET_AS => {
                let b: [u8; 4] = v.try_into().map_err(|_| bad("length is not 4"))?;
                Capability::FourOctetAs(u32::from_be_bytes(b))
            }
            CapabilityCode::EXTENDED_NEXT_HOP => {
                if !v.len().is_multiple_of(6) {
                    return Err(bad("length is not a multiple of 6"));
                }
                Capability::ExtendedNextHop(
                    v.as_chunks::<6>()
                        .0
                        .iter()
                        .map(|&[a0, a1, s0, s1, n0, n1]| ExtendedNextHop {
                            nlri: family3(
                                u16::from_be_bytes([a0, a1]),
                                // SAFI travels in two octets here; values above 255 do not
                                // exist in the registry.
                                u8::try_from(u16::from_be_bytes([s0, s1])).unwrap_or(0),
                            ),
                            next_hop_afi: Afi(u16::from_be_bytes([n0, n1])),
                        })
                        .collect(),
                )
            }
            CapabilityCode::GRACEFUL_RESTART => {
                let Some((word, rest)) = v.split_first_chunk::<2>() else {
                    return Err(bad("shorter than 2 octets"));
                };
                if rest.len() % 4 != 0 {
                    return Err(bad("family list is not a multiple of 4 octets"));
                }
                let word = u16::from_be_bytes(*word);
                Capability::GracefulRestart(GracefulRestart {
                    restart_state: word & 0x8000 != 0,
                    notification: word & 0x4000 != 0,
                    restart_time: word & 0x0fff,
                    families: rest
                        .as_chunks::<4>()
                        .0
                        .iter()
                        .map(|&[a0, a1, s, f]| {
                            (family3(u16::from_be_bytes([a0, a1]), s), f & 0x80 != 0)
                        })
                        .collect(),
                })
            }
            CapabilityCode::ADD_PATH => {
                if v.is_empty() || !v.len().is_multiple_of(4) {
                    return Err(bad("length is not a non-zero multiple of 4"));
                }
                let mut out = Vec::with_capacity(v.len() / 4);
                for &[a0, a1, s, m] in v.as_chunks::<4>().0 {
                    let mode = match m {
                        1 => AddPathMode::Receive,
                        2 => AddPathMode::Send,
                        3 => AddPathMode::Both,
                        _ => return Err(bad("send/receive value is not 1, 2 or 3")),
                    };
                    out.push((family3(u16::from_be_bytes([a0, a1]), s), mode));
                }
                Capability::AddPath(out)
            }
            CapabilityCode::LONG_LIVED_GRACEFUL_RESTART => {
                if !v.len().is_multiple_of(7) {
                    return Err(bad("length is not a multiple of 7"));
                }
                Capability::LongLivedGracefulRestart(
                    v.as_chunks::<7>()
                        .0
                        .iter()
                        .map(|&[a0, a1, s, f, t0, t1, t2]| LlgrFamily {
                            family: family3(u16::from_be_bytes([a0, a1]), s),
                            forwarding: f & 0x80 != 0,
                            stale_time: u32::from_be_bytes([0, t0, t1, t2]),
                        })
                        .collect(),
                )
            }
            CapabilityCode::FQDN => {
                let parse = |i| -> IResult<'_, (&[u8], &[u8])> {
                    let (i, hl) = be_u8(i)?;
                    let (i, h) = take(hl)(i)?;
                    let (i, dl) = be_u8(i)?;
                    let (i, d) = take(dl)(i)?;
                    Ok((i, (h, d)))
                };
                match parse(v) {
                    // Names that are not UTF-8 are kept raw: a lossy conversion would not
                    // re-encode as received and can grow past the 255-octet capability
                    // length (3 octets per replaced one), so the OPEN would not encode.
                    Ok(([], (h, d))) => match (core::str::from_utf8(h), core::str::from_utf8(d)) {
                        (Ok(h), Ok(d)) => Capability::Fqdn {
                            hostname: h.to_owned(),
                            domain: d.to_owned(),
                        },
                        _ => Capability::Unknown {
                            code,
                            value: Bytes::copy_from_slice(v),
                        },
                    },
                    _ => return Err(bad("host and domain lengths do not match the value")),
                }
            }
            _ => Capability::Unknown {
                code,
                value: Bytes::copy_from_slice(v),
            },
        })
    }
}

/// An OPEN message.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Open {
    /// My Autonomous System: the sender's AS, or AS_TRANS (23456) when it needs 4 octets.
    pub my_as: u16,
    /// Proposed hold time in seconds (0, or at least 3).
    pub hold_time: u16,
    /// BGP Identifier.
    pub bgp_id: Ipv4Addr,
    /// Capabilities, in the order received.
    pub capabilities: Vec<Capability>,
}

impl Open {
    /// An OPEN for `asn` (4-octet capable: My AS becomes AS_TRANS above 65535 and the
    /// 4-octet AS capability is added first, as RFC 6793 §3 requires).
    pub fn new(
        asn: u32,
        hold_time: u16,
        bgp_id: Ipv4Addr,
        mut capabilities: Vec<Capability>,
    ) -> Self {
        if !capabilities
            .iter()
            .any(|c| matches!(c, Capability::FourOctetAs(_)))
        {
            capabilities.insert(0, Capability::FourOctetAs(asn));
        }
        Open {
            my_as: u16::try_from(asn).unwrap_or(AS_TRANS as u16),
            hold_time,
            bgp_id,
            capabilities,
        }
    }

    /// The sender's AS: the 4-octet AS capability's value if present, else My AS.
    pub fn asn(&self) -> u32 {
        self.four_octet_as().unwrap_or(u32::from(self.my_as))
    }

    /// The 4-octet AS capability's value.
    pub fn four_octet_as(&self) -> Option<u32> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::FourOctetAs(a) => Some(*a),
            _ => None,
        })
    }

    /// Families announced with the Multiprotocol capability. RFC 4760 §8: a speaker that
    /// announces none is taken to speak IPv4 unicast only.
    pub fn families(&self) -> Vec<Family> {
        let v: Vec<Family> = self
            .capabilities
            .iter()
            .filter_map(|c| match c {
                Capability::Multiprotocol(f) => Some(*f),
                _ => None,
            })
            .collect();
        if v.is_empty() {
            vec![Family::IPV4_UNICAST]
        } else {
            v
        }
    }

    /// Whether a capability with this code was announced.
    pub fn has(&self, code: CapabilityCode) -> bool {
        self.capabilities.iter().any(|c| c.code() == code)
    }

    /// Decodes a whole OPEN message (header included, already framed).
    ///
    /// Checks what the message alone can tell (RFC 4271 §6.2): version, hold time of 1 or
    /// 2, a zero identifier, and optional parameter and capability syntax. Checks that need
    /// configuration (peer AS, our identifier, required capabilities) are the FSM's.
    pub fn decode(message: &[u8]) -> Result<Open, Error> {
        let length = message.len().min(usize::from(u16::MAX)) as u16;
        let body = message
            .get(HEADER_LEN..)
            .filter(|b| b.len() >= 10 && message.len() <= MAX_MESSAGE_LEN)
            .ok_or(Error::BadMessageLength { length })?;
        let fixed = |i| -> IResult<'_, (u8, u16, u16, u32, u8)> {
            (be_u8, be_u16, be_u16, be_u32, be_u8).parse(i)
        };
        let Ok((rest, (version, my_as, hold_time, id, opt_len))) = fixed(body) else {
            return Err(Error::BadMessageLength { length });
        };
        if version != BGP_VERSION {
            return Err(Error::UnsupportedVersion { version });
        }
        // RFC 4271 §6.2: "An implementation MUST reject Hold Time values of one or two
        // seconds."
        if hold_time == 1 || hold_time == 2 {
            return Err(Error::UnacceptableHoldTime { hold_time });
        }
        let bgp_id = Ipv4Addr::from(id);
        // RFC 6286 §2.2: the BGP Identifier is a non-zero 4-octet unsigned integer.
        if id == 0 {
            return Err(Error::BadBgpIdentifier { identifier: bgp_id });
        }
        let capabilities = decode_parameters(opt_len, rest)?;
        Ok(Open {
            my_as,
            hold_time,
            bgp_id,
            capabilities,
        })
    }

    /// Encodes the message. Optional parameters switch to the RFC 9072 extended format
    /// when the capabilities do not fit 255 octets.
    pub fn encode(&self) -> Result<Bytes, EncodeError> {
        let caps_len: usize = self.capabilities.iter().map(Capability::encoded_len).sum();
        let mut out = BytesMut::with_capacity(HEADER_LEN + 10 + caps_len + 6);
        let start = header::start_header(&mut out, MessageType::OPEN);
        out.put_u8(BGP_VERSION);
        out.put_u16(self.my_as);
        out.put_u16(self.hold_time);
        out.put_slice(&self.bgp_id.octets());
        if self.capabilities.is_empty() {
            out.put_u8(0);
        } else if caps_len + 2 <= 255 {
            out.put_u8((caps_len + 2) as u8);
            out.put_u8(PARAM_CAPABILITIES);
            out.put_u8(caps_len as u8);
            for c in &self.capabilities {
                c.encode(&mut out)?;
            }
        } else {
            // RFC 9072 §2: Non-Ext OP Len 255, Non-Ext OP Type 255, then a 2-octet length;
            // each parameter's length is 2 octets too.
            let total = caps_len + 3;
            let total16 = u16::try_from(total).map_err(|_| EncodeError::OpenTooLarge)?;
            out.put_u8(255);
            out.put_u8(PARAM_EXTENDED);
            out.put_u16(total16);
            out.put_u8(PARAM_CAPABILITIES);
            out.put_u16(caps_len as u16);
            for c in &self.capabilities {
                c.encode(&mut out)?;
            }
        }
        if out.len() - start > MAX_MESSAGE_LEN {
            return Err(EncodeError::MessageTooLarge {
                needed: out.len() - start,
                max: MAX_MESSAGE_LEN,
            });
        }
        header::finish_header(&mut out, start);
        Ok(out.freeze())
    }
}

fn decode_parameters(opt_len: u8, rest: &[u8]) -> Result<Vec<Capability>, Error> {
    let malformed = |reason| Error::MalformedOptionalParameters { reason };
    // RFC 9072 §2: "If the value of the 'Non-Ext OP Len.' field is 255 and the first
    // octet following it (the 'Non-Ext OP Type') is also 255, the extended format is used."
    let extended = opt_len == 255 && rest.first() == Some(&PARAM_EXTENDED);
    let params = if extended {
        let Some((len, params)) = rest.get(1..).and_then(|r| r.split_first_chunk::<2>()) else {
            return Err(malformed("extended optional parameters length missing"));
        };
        if usize::from(u16::from_be_bytes(*len)) != params.len() {
            return Err(malformed(
                "optional parameters length does not match the message",
            ));
        }
        params
    } else {
        if usize::from(opt_len) != rest.len() {
            return Err(malformed(
                "optional parameters length does not match the message",
            ));
        }
        rest
    };
    let mut caps = Vec::new();
    let mut i = params;
    while !i.is_empty() {
        let param = |i| -> IResult<'_, (u8, &[u8])> {
            let (i, t) = be_u8(i)?;
            let (i, len) = if extended {
                be_u16(i)?
            } else {
                be_u8.map(u16::from).parse(i)?
            };
            let (i, v) = take(len)(i)?;
            Ok((i, (t, v)))
        };
        let Ok((next, (ptype, value))) = param(i) else {
            return Err(malformed(
                "optional parameter overruns the parameters field",
            ));
        };
        i = next;
        if ptype != PARAM_CAPABILITIES {
            // RFC 4271 §6.2: "If one of the Optional Parameters in the OPEN message is not
            // recognized, then the Error Subcode MUST be set to Unsupported Optional
            // Parameters."
            return Err(Error::UnsupportedOptionalParameter {
                parameter_type: ptype,
            });
        }
        let mut c = value;
        while !c.is_empty() {
            let cap = |i| -> IResult<'_, (u8, &[u8])> {
                let (i, code) = be_u8(i)?;
                let (i, len) = be_u8(i)?;
                let (i, v) = take(len)(i)?;
                Ok((i, (code, v)))
            };
            let Ok((next, (code, v))) = cap(c) else {
                return Err(malformed("capability overruns its optional parameter"));
            };
            c = next;
            caps.push(Capability::decode(CapabilityCode(code), v)?);
        }
    }
    Ok(caps)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzz/open_capabilities: a hostname of 100 octets that are not UTF-8 became
    /// 300 octets of U+FFFD, and the decoded OPEN no longer encoded.
    #[test]
    fn fqdn_that_is_not_utf8_is_kept_raw_and_round_trips() {
        let mut value = vec![100];
        value.extend_from_slice(&[0xff; 100]);
        value.push(0);
        let cap = Capability::decode(CapabilityCode::FQDN, &value).unwrap();
        assert_eq!(
            cap,
            Capability::Unknown {
                code: CapabilityCode::FQDN,
                value: Bytes::from(value.clone()),
            }
        );
        let open = Open::new(65001, 90, Ipv4Addr::new(192, 0, 2, 1), vec![cap]);
        let wire = open.encode().unwrap();
        assert_eq!(Open::decode(&wire).unwrap(), open);

        let utf8 = Capability::decode(CapabilityCode::FQDN, b"\x04gw-1\x03net").unwrap();
        assert_eq!(
            utf8,
            Capability::Fqdn {
                hostname: "gw-1".into(),
                domain: "net".into(),
            }
        );
    }
}
