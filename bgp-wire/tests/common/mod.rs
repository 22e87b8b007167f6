//! Helpers to build raw messages byte by byte, independent of the crate's encoders, so tests
//! check the decoder against the RFC layout rather than against itself.
#![allow(dead_code)]

use bytes::Bytes;

/// A whole message: marker, length, type, body.
pub fn message(message_type: u8, body: &[u8]) -> Bytes {
    let mut v = vec![0xff; 16];
    v.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    v.push(message_type);
    v.extend_from_slice(body);
    Bytes::from(v)
}

/// An UPDATE from its three fields.
pub fn update(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Bytes {
    let mut body = Vec::new();
    body.extend_from_slice(&(withdrawn.len() as u16).to_be_bytes());
    body.extend_from_slice(withdrawn);
    body.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    body.extend_from_slice(attrs);
    body.extend_from_slice(nlri);
    message(2, &body)
}

/// One attribute with a one-octet length.
pub fn attr(flags: u8, type_code: u8, value: &[u8]) -> Vec<u8> {
    let mut v = vec![flags, type_code, value.len() as u8];
    v.extend_from_slice(value);
    v
}

/// One attribute with the Extended Length bit.
pub fn attr_ext(flags: u8, type_code: u8, value: &[u8]) -> Vec<u8> {
    let mut v = vec![flags | 0x10, type_code];
    v.extend_from_slice(&(value.len() as u16).to_be_bytes());
    v.extend_from_slice(value);
    v
}

pub fn origin_igp() -> Vec<u8> {
    attr(0x40, 1, &[0])
}

/// AS_PATH with one AS_SEQUENCE of 4-octet ASNs.
pub fn as_path4(asns: &[u32]) -> Vec<u8> {
    let mut v = vec![2, asns.len() as u8];
    for a in asns {
        v.extend_from_slice(&a.to_be_bytes());
    }
    attr(0x40, 2, &v)
}

/// AS_PATH with one AS_SEQUENCE of 2-octet ASNs.
pub fn as_path2(asns: &[u16]) -> Vec<u8> {
    let mut v = vec![2, asns.len() as u8];
    for a in asns {
        v.extend_from_slice(&a.to_be_bytes());
    }
    attr(0x40, 2, &v)
}

pub fn next_hop(a: [u8; 4]) -> Vec<u8> {
    attr(0x40, 3, &a)
}

/// ORIGIN, AS_PATH (4-octet, AS 65001) and NEXT_HOP 192.0.2.1.
pub fn mandatory4() -> Vec<u8> {
    [origin_igp(), as_path4(&[65001]), next_hop([192, 0, 2, 1])].concat()
}

pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Hex string to bytes (whitespace ignored).
pub fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}
