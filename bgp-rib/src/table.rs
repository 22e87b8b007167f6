//! Per-prefix storage: eight octets per path, no allocation for a prefix with one path.

use std::collections::HashMap;

use crate::attrs::AttrId;
use crate::best::PathStatus;
use crate::peer::PeerId;

/// Bits of [`Path::tag`].
const SOURCE_BITS: u32 = 27;
const SOURCE_MASK: u32 = (1 << SOURCE_BITS) - 1;
const STATUS_SHIFT: u32 = SOURCE_BITS;
const STATUS_MASK: u32 = 0xF << STATUS_SHIFT;
const STALE: u32 = 1 << 31;

/// Source ids below this are "peer N, no ADD-PATH identifier": no lookup needed.
pub(crate) const PEER_SOURCES: u32 = 1 << 16;

/// One path of a prefix: the attribute set, who sent it, and its standing.
///
/// `tag` packs the source (27 bits: a peer, or a peer and ADD-PATH identifier), the
/// [`PathStatus`] code (4 bits) and the graceful-restart stale mark (1 bit).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Path {
    pub attrs: AttrId,
    tag: u32,
}

impl Path {
    pub(crate) fn new(attrs: AttrId, source: u32) -> Path {
        Path {
            attrs,
            tag: source & SOURCE_MASK,
        }
    }
    pub(crate) fn source(self) -> u32 {
        self.tag & SOURCE_MASK
    }
    pub(crate) fn status(self) -> PathStatus {
        PathStatus::from_code(((self.tag & STATUS_MASK) >> STATUS_SHIFT) as u8)
    }
    pub(crate) fn set_status(&mut self, s: PathStatus) {
        self.tag = (self.tag & !STATUS_MASK) | (u32::from(s.code()) << STATUS_SHIFT);
    }
    pub(crate) fn is_stale(self) -> bool {
        self.tag & STALE != 0
    }
    pub(crate) fn set_stale(&mut self, stale: bool) {
        if stale {
            self.tag |= STALE;
        } else {
            self.tag &= !STALE;
        }
    }
    /// Identity for change detection: who and what, not standing.
    pub(crate) fn identity(self) -> (u32, AttrId) {
        (self.source(), self.attrs)
    }
}

/// The paths of one prefix, best first, then the multipath members, then the rest.
#[derive(Clone, Debug)]
pub(crate) enum PathList {
    One(Path),
    Many(Vec<Path>),
}

impl PathList {
    pub(crate) fn as_slice(&self) -> &[Path] {
        match self {
            PathList::One(p) => core::slice::from_ref(p),
            PathList::Many(v) => v,
        }
    }
    pub(crate) fn as_mut_slice(&mut self) -> &mut [Path] {
        match self {
            PathList::One(p) => core::slice::from_mut(p),
            PathList::Many(v) => v,
        }
    }
    pub(crate) fn push(&mut self, p: Path) {
        match self {
            PathList::One(first) => {
                *self = PathList::Many(vec![*first, p]);
            }
            PathList::Many(v) => {
                // Exact growth: a prefix with ten peers keeps ten paths, not sixteen.
                v.reserve_exact(1);
                v.push(p);
            }
        }
    }
    /// Removes the path at `i`; `false` if that left the list empty (the caller removes
    /// the prefix).
    pub(crate) fn remove(&mut self, i: usize) -> bool {
        match self {
            PathList::One(_) => false,
            PathList::Many(v) => {
                if i < v.len() {
                    v.remove(i);
                }
                match v.as_slice() {
                    [] => false,
                    [only] => {
                        *self = PathList::One(*only);
                        true
                    }
                    _ => {
                        if v.capacity() > v.len() + 2 {
                            v.shrink_to_fit();
                        }
                        true
                    }
                }
            }
        }
    }
    pub(crate) fn len(&self) -> usize {
        self.as_slice().len()
    }
    pub(crate) fn best(&self) -> Option<Path> {
        self.as_slice()
            .first()
            .copied()
            .filter(|p| p.status() == PathStatus::Best)
    }
    /// The best path and multipath members.
    pub(crate) fn used(&self) -> &[Path] {
        let s = self.as_slice();
        let n = s.iter().take_while(|p| p.status().is_used()).count();
        s.get(..n).unwrap_or(&[])
    }
}

struct SourceEntry {
    peer: PeerId,
    path_id: u32,
    refs: u32,
}

/// Sources of paths: a peer, or a peer and an ADD-PATH path identifier (RFC 7911).
pub(crate) struct Sources {
    entries: Vec<Option<SourceEntry>>,
    map: HashMap<(PeerId, u32), u32>,
    free: Vec<u32>,
}

impl Sources {
    pub(crate) fn new() -> Self {
        Sources {
            entries: Vec::new(),
            map: HashMap::new(),
            free: Vec::new(),
        }
    }

    /// Source id for a path; `None` if 2^27 sources are in use (the path is dropped).
    /// Takes a reference for ADD-PATH sources.
    pub(crate) fn acquire(&mut self, peer: PeerId, path_id: Option<u32>) -> Option<u32> {
        let Some(id) = path_id else {
            return Some(u32::from(peer.0));
        };
        if let Some(&s) = self.map.get(&(peer, id)) {
            if let Some(Some(e)) = self.entries.get_mut((s - PEER_SOURCES) as usize) {
                e.refs = e.refs.saturating_add(1);
            }
            return Some(s);
        }
        let entry = SourceEntry {
            peer,
            path_id: id,
            refs: 1,
        };
        let index = match self.free.pop() {
            Some(i) => {
                if let Some(slot) = self.entries.get_mut(i as usize) {
                    *slot = Some(entry);
                }
                i
            }
            None => {
                if self.entries.len() as u32 >= SOURCE_MASK - PEER_SOURCES {
                    return None;
                }
                self.entries.push(Some(entry));
                (self.entries.len() - 1) as u32
            }
        };
        let s = index + PEER_SOURCES;
        self.map.insert((peer, id), s);
        Some(s)
    }

    /// Looks a source up without taking a reference.
    pub(crate) fn find(&self, peer: PeerId, path_id: Option<u32>) -> Option<u32> {
        match path_id {
            None => Some(u32::from(peer.0)),
            Some(id) => self.map.get(&(peer, id)).copied(),
        }
    }

    /// Drops a reference taken by [`Sources::acquire`].
    pub(crate) fn release(&mut self, source: u32) {
        if source < PEER_SOURCES {
            return;
        }
        let i = (source - PEER_SOURCES) as usize;
        let Some(Some(e)) = self.entries.get_mut(i) else {
            return;
        };
        e.refs = e.refs.saturating_sub(1);
        if e.refs == 0 {
            let key = (e.peer, e.path_id);
            self.map.remove(&key);
            if let Some(slot) = self.entries.get_mut(i) {
                *slot = None;
            }
            self.free.push(i as u32);
            if self.map.is_empty() {
                self.entries = Vec::new();
                self.free = Vec::new();
                self.map = HashMap::new();
            }
        }
    }

    pub(crate) fn peer(&self, source: u32) -> PeerId {
        if source < PEER_SOURCES {
            return PeerId(source as u16);
        }
        match self.entries.get((source - PEER_SOURCES) as usize) {
            Some(Some(e)) => e.peer,
            _ => PeerId::LOCAL,
        }
    }

    pub(crate) fn path_id(&self, source: u32) -> Option<u32> {
        if source < PEER_SOURCES {
            return None;
        }
        match self.entries.get((source - PEER_SOURCES) as usize) {
            Some(Some(e)) => Some(e.path_id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::best::LostAt;

    #[test]
    fn path_packs_source_status_and_stale() {
        let mut p = Path::new(AttrId(7), 123_456);
        assert_eq!(p.source(), 123_456);
        p.set_status(PathStatus::Lost(LostAt::Med));
        p.set_stale(true);
        assert_eq!(p.status(), PathStatus::Lost(LostAt::Med));
        assert!(p.is_stale());
        assert_eq!(p.source(), 123_456);
        p.set_status(PathStatus::Best);
        p.set_stale(false);
        assert_eq!(p.status(), PathStatus::Best);
        assert!(!p.is_stale());
        assert_eq!(core::mem::size_of::<Path>(), 8);
        assert_eq!(core::mem::size_of::<PathList>(), 24);
    }

    #[test]
    fn sources_refcount() {
        let mut s = Sources::new();
        assert_eq!(s.acquire(PeerId(3), None), Some(3));
        let a = s.acquire(PeerId(3), Some(9)).unwrap();
        let b = s.acquire(PeerId(3), Some(9)).unwrap();
        assert_eq!(a, b);
        assert_eq!(s.peer(a), PeerId(3));
        assert_eq!(s.path_id(a), Some(9));
        s.release(a);
        assert_eq!(s.find(PeerId(3), Some(9)), Some(a));
        s.release(b);
        assert_eq!(s.find(PeerId(3), Some(9)), None);
    }
}
