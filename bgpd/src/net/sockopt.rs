//! Socket options neither std nor socket2 wraps: TCP-MD5 (RFC 2385) and the GTSM minimum
//! TTL / hop count (RFC 5082), plus the GTSM setup shared by connect, listen and accept.
//!
//! The only `unsafe` of the daemon is [`setsockopt`] below: one `libc::setsockopt` call on a
//! borrowed descriptor, fed by values whose types have no padding (the [`PlainOption`]
//! marker), so the kernel reads only initialised bytes.

use std::io;
use std::mem::size_of;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use socket2::SockRef;

/// Longest TCP-MD5 key Linux accepts (`TCP_MD5SIG_MAXKEYLEN` in `<linux/tcp.h>`).
pub const MD5_MAX_KEY_LEN: usize = 80;

/// The TTL (IPv4) or hop limit (IPv6) GTSM speakers send with (RFC 5082 §3).
pub const GTSM_TTL: u8 = 255;

/// Types [`setsockopt`] may pass to the kernel: `#[repr(C)]` or primitive, with no padding,
/// so every byte the kernel copies is initialised.
trait PlainOption {}
impl PlainOption for libc::c_int {}
impl PlainOption for TcpMd5Sig {}

/// `struct tcp_md5sig` from `<linux/tcp.h>`:
///
/// ```text
/// struct tcp_md5sig {
///     struct __kernel_sockaddr_storage tcpm_addr;  /* 128 octets, 8-aligned  */
///     __u8  tcpm_flags;      /* TCP_MD5SIG_EXT only; 0 here                  */
///     __u8  tcpm_prefixlen;  /* TCP_MD5SIG_EXT only; 0 here                  */
///     __u16 tcpm_keylen;     /* 0 deletes the key for tcpm_addr               */
///     int   tcpm_ifindex;    /* TCP_MD5SIG_EXT only; 0 here                  */
///     __u8  tcpm_key[TCP_MD5SIG_MAXKEYLEN];
/// };
/// ```
///
/// The address is kept as raw octets (a `sockaddr_in` or `sockaddr_in6` laid out by
/// [`sockaddr_octets`]) so the whole struct can be built without `unsafe`; `align(8)` gives it
/// the alignment of `sockaddr_storage`, and the size check below proves there is no padding.
#[repr(C, align(8))]
struct TcpMd5Sig {
    addr: [u8; 128],
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: libc::c_int,
    key: [u8; MD5_MAX_KEY_LEN],
}

const _: () = assert!(size_of::<TcpMd5Sig>() == 128 + 1 + 1 + 2 + 4 + MD5_MAX_KEY_LEN);

/// Calls `setsockopt(fd, level, name, value, sizeof value)`.
#[allow(unsafe_code)]
fn setsockopt<T: PlainOption>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    let len = libc::socklen_t::try_from(size_of::<T>())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `fd` is a descriptor borrowed for the duration of the call, so it stays open;
    // `value` is a live reference to `size_of::<T>()` bytes, all initialised (`PlainOption`
    // types have no padding), which the kernel only reads during the call and does not keep.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast::<libc::c_void>(),
            len,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The octets of a `sockaddr_in` / `sockaddr_in6` for `addr` (port 0), at the start of a
/// zeroed `sockaddr_storage`.
fn sockaddr_octets(addr: IpAddr) -> [u8; 128] {
    let mut out = [0u8; 128];
    // sa_family_t is a host-order u16 at offset 0 of both layouts; the port (offset 2) stays 0,
    // the kernel ignores it for TCP-MD5.
    match addr {
        IpAddr::V4(v4) => {
            let family = (libc::AF_INET as u16).to_ne_bytes();
            out[..2].copy_from_slice(&family);
            // struct sockaddr_in { family; port; struct in_addr sin_addr /* offset 4 */; ... }
            out[4..8].copy_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            let family = (libc::AF_INET6 as u16).to_ne_bytes();
            out[..2].copy_from_slice(&family);
            // struct sockaddr_in6 { family; port; u32 flowinfo; struct in6_addr /* offset 8 */;
            // u32 scope_id; }
            out[8..24].copy_from_slice(&v6.octets());
        }
    }
    out
}

/// Installs (`Some`) or removes (`None`) the RFC 2385 TCP-MD5 key for segments exchanged with
/// `peer` on `socket` (a listening socket or one not yet connected).
///
/// The address must be of the socket's family: an IPv4 peer on an IPv4 socket, an IPv6 peer
/// on an IPv6 socket (IPv4-mapped IPv6 addresses are turned into IPv4 first). Removing a key
/// that is not installed succeeds.
///
/// Errors: `InvalidInput` for an empty key or one longer than [`MD5_MAX_KEY_LEN`] octets;
/// the kernel's error otherwise (`ENOPROTOOPT` without `CONFIG_TCP_MD5SIG`).
pub(crate) fn set_md5_key(socket: &impl AsFd, peer: IpAddr, key: Option<&[u8]>) -> io::Result<()> {
    let peer = peer.to_canonical();
    let mut sig = TcpMd5Sig {
        addr: sockaddr_octets(peer),
        flags: 0,
        prefixlen: 0,
        keylen: 0,
        ifindex: 0,
        key: [0; MD5_MAX_KEY_LEN],
    };
    if let Some(key) = key {
        if key.is_empty() || key.len() > MD5_MAX_KEY_LEN {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "TCP-MD5 key must be 1 to {MD5_MAX_KEY_LEN} octets, got {}",
                    key.len()
                ),
            ));
        }
        sig.key[..key.len()].copy_from_slice(key);
        sig.keylen = key.len() as u16;
    }
    match setsockopt(socket.as_fd(), libc::IPPROTO_TCP, libc::TCP_MD5SIG, &sig) {
        // Linux answers ENOENT when asked to delete a key it does not hold.
        Err(e) if key.is_none() && e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        other => other,
    }
}

/// Checks a GTSM hop count and returns the minimum TTL it implies (RFC 5082 §3: 256 - hops;
/// 1 hop, a directly connected peer, means only TTL 255 is accepted).
pub(crate) fn gtsm_min_ttl(hops: u8) -> io::Result<libc::c_int> {
    if hops == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "GTSM hop count must be 1 to 255",
        ));
    }
    Ok(256 - libc::c_int::from(hops))
}

/// Sets the outgoing TTL / hop limit of `socket` (family `v6`); `None` restores the system
/// default (Linux takes -1 for "default" on both `IP_TTL` and `IPV6_UNICAST_HOPS`).
pub(crate) fn set_outgoing_ttl(socket: &impl AsFd, v6: bool, ttl: Option<u8>) -> io::Result<()> {
    let value = ttl.map_or(-1, libc::c_int::from);
    if v6 {
        setsockopt(
            socket.as_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_UNICAST_HOPS,
            &value,
        )
    } else {
        setsockopt(socket.as_fd(), libc::IPPROTO_IP, libc::IP_TTL, &value)
    }
}

/// Sets `IP_MINTTL` / `IPV6_MINHOPCOUNT` on `socket`: the kernel drops received segments
/// whose TTL (hop limit) is below `min` (0 turns the check off).
pub(crate) fn set_min_ttl(socket: &impl AsFd, v6: bool, min: libc::c_int) -> io::Result<()> {
    if v6 {
        setsockopt(
            socket.as_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_MINHOPCOUNT,
            &min,
        )
    } else {
        setsockopt(socket.as_fd(), libc::IPPROTO_IP, libc::IP_MINTTL, &min)
    }
}

/// Turns RFC 5082 GTSM on (`Some(hops)`) or off (`None`) for `socket`: send with TTL 255 and
/// drop segments that arrive with a TTL below 256 - hops. Off restores the default TTL and
/// accepts any TTL.
pub(crate) fn apply_ttl_security(socket: &impl AsFd, v6: bool, hops: Option<u8>) -> io::Result<()> {
    match hops {
        Some(hops) => {
            let min = gtsm_min_ttl(hops)?;
            set_outgoing_ttl(socket, v6, Some(GTSM_TTL))?;
            set_min_ttl(socket, v6, min)
        }
        None => {
            set_min_ttl(socket, v6, 0)?;
            set_outgoing_ttl(socket, v6, None)
        }
    }
}

/// Binds `socket` to the interface `name` (`SO_BINDTODEVICE`).
pub(crate) fn bind_device(socket: &impl AsFd, name: &str) -> io::Result<()> {
    // Linux: IFNAMSIZ is 16 including the terminating NUL.
    if name.is_empty() || name.len() >= 16 || name.contains('\0') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("interface name {name:?} must be 1 to 15 octets without NUL"),
        ));
    }
    SockRef::from(socket).bind_device(Some(name.as_bytes()))
}

/// Whether `addr` is served by a socket of the family `local`.
pub(crate) fn same_family(addr: IpAddr, local: SocketAddr) -> bool {
    addr.to_canonical().is_ipv6() == local.is_ipv6()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn sockaddr_layout_matches_libc() {
        let v4 = sockaddr_octets(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));
        let family = u16::from_ne_bytes([v4[0], v4[1]]);
        assert_eq!(i32::from(family), libc::AF_INET);
        assert_eq!(&v4[4..8], &[192, 0, 2, 7]);
        assert!(v4[8..].iter().all(|&b| b == 0));

        let addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
        let v6 = sockaddr_octets(IpAddr::V6(addr));
        assert_eq!(
            i32::from(u16::from_ne_bytes([v6[0], v6[1]])),
            libc::AF_INET6
        );
        assert_eq!(&v6[8..24], &addr.octets());
        assert_eq!(std::mem::offset_of!(libc::sockaddr_in6, sin6_addr), 8);
        assert_eq!(std::mem::offset_of!(libc::sockaddr_in, sin_addr), 4);
        assert_eq!(size_of::<libc::sockaddr_storage>(), 128);
        assert_eq!(std::mem::align_of::<TcpMd5Sig>(), 8);
    }

    #[test]
    fn gtsm_hops_map_to_min_ttl() {
        assert_eq!(gtsm_min_ttl(1).ok(), Some(255));
        assert_eq!(gtsm_min_ttl(255).ok(), Some(1));
        assert!(gtsm_min_ttl(0).is_err());
    }

    #[test]
    fn md5_key_length_is_checked() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp socket");
        let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let long = [1u8; MD5_MAX_KEY_LEN + 1];
        let err = set_md5_key(&socket, peer, Some(&long)).expect_err("too long");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let err = set_md5_key(&socket, peer, Some(&[])).expect_err("empty");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn interface_name_is_checked() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp socket");
        for bad in ["", "a-very-long-interface", "lo\0"] {
            let err = bind_device(&socket, bad).expect_err(bad);
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        }
    }
}
