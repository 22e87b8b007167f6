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

/// Status code no path carries: marks a [`Slot`] whose `attrs` is a [`Lists`] index.
const LIST_MARK: u32 = 15 << STATUS_SHIFT;
/// Status code no path carries: marks a [`Slot`] with no path left, kept only because an
/// update group still has the prefix advertised (it must be withdrawn first).
const EMPTY_MARK: u32 = 14 << STATUS_SHIFT;

/// Update groups whose Adj-RIB-Out record lives in the trie value (one bit each); groups
/// beyond these keep their own prefix set.
pub(crate) const OUT_BITS: usize = 32;

/// The trie value of a prefix: its only path inline (8 octets, the common case in a
/// full table), or an index into [`Lists`] when there are several; and the Adj-RIB-Out
/// record of the first [`OUT_BITS`] update groups: bit `g` set when group `g` was last
/// sent this prefix. Keeping the record here costs 4 octets per prefix for all groups
/// together, and reading it costs nothing beyond the lookup the export does anyway.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot {
    head: Path,
    out: u32,
}

impl Slot {
    pub(crate) fn one(p: Path) -> Slot {
        Slot { head: p, out: 0 }
    }
    fn list_index(self) -> Option<usize> {
        (self.head.tag & STATUS_MASK == LIST_MARK).then_some(self.head.attrs.0 as usize)
    }
    /// No path left: the prefix is only kept for an update group's withdrawal.
    pub(crate) fn is_empty(&self) -> bool {
        self.head.tag & STATUS_MASK == EMPTY_MARK
    }
    /// The update groups (bit per group) that were last sent this prefix.
    pub(crate) fn out(&self) -> u32 {
        self.out
    }
    pub(crate) fn set_out(&mut self, bit: u32, yes: bool) {
        if yes {
            self.out |= bit;
        } else {
            self.out &= !bit;
        }
    }
    fn set_empty(&mut self) {
        self.head = Path {
            attrs: AttrId(0),
            tag: EMPTY_MARK,
        };
    }
}

/// Path lists of prefixes with more than one path, best first, then the multipath
/// members, then the rest. Exact-size boxes: ten paths take 80 octets.
#[derive(Default)]
pub(crate) struct Lists {
    lists: Vec<Box<[Path]>>,
    free: Vec<u32>,
    live: usize,
}

impl Lists {
    /// The paths of a slot.
    pub(crate) fn get<'a>(&'a self, slot: &'a Slot) -> &'a [Path] {
        if slot.is_empty() {
            return &[];
        }
        match slot.list_index() {
            None => core::slice::from_ref(&slot.head),
            Some(i) => self.lists.get(i).map_or(&[][..], |b| &b[..]),
        }
    }

    /// Copies the paths of a slot into `out`.
    pub(crate) fn load(&self, slot: &Slot, out: &mut Vec<Path>) {
        out.clear();
        out.extend_from_slice(self.get(slot));
    }

    /// Stores `paths` into the slot, keeping its Adj-RIB-Out bits. With no paths, frees
    /// what the slot held and marks it empty; the caller removes the prefix unless an
    /// update group still has it advertised ([`Slot::out`]).
    pub(crate) fn store(&mut self, slot: &mut Slot, paths: &[Path]) {
        let current = slot.list_index();
        match (paths, current) {
            ([only], None) => slot.head = *only,
            ([], None) => slot.set_empty(),
            ([], Some(i)) | ([_], Some(i)) => {
                if let Some(b) = self.lists.get_mut(i) {
                    *b = Box::new([]);
                }
                self.free.push(i as u32);
                self.live -= 1;
                match paths {
                    [only] => slot.head = *only,
                    _ => slot.set_empty(),
                }
                if self.live == 0 {
                    self.lists = Vec::new();
                    self.free = Vec::new();
                }
            }
            (many, Some(i)) => {
                if let Some(b) = self.lists.get_mut(i) {
                    if b.len() == many.len() {
                        b.copy_from_slice(many);
                    } else {
                        *b = many.into();
                    }
                }
            }
            (many, None) => {
                let i = match self.free.pop() {
                    Some(i) => {
                        if let Some(b) = self.lists.get_mut(i as usize) {
                            *b = many.into();
                        }
                        i
                    }
                    None => {
                        self.lists.push(many.into());
                        (self.lists.len() - 1) as u32
                    }
                };
                self.live += 1;
                slot.head = Path {
                    attrs: AttrId(i),
                    tag: LIST_MARK,
                };
            }
        }
    }
}

/// The best path and multipath members at the front of a path list.
pub(crate) fn used(paths: &[Path]) -> &[Path] {
    let n = paths.iter().take_while(|p| p.status().is_used()).count();
    paths.get(..n).unwrap_or(&[])
}

/// The best path of a path list.
pub(crate) fn best(paths: &[Path]) -> Option<Path> {
    paths
        .first()
        .copied()
        .filter(|p| p.status() == PathStatus::Best)
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
        assert_eq!(core::mem::size_of::<Slot>(), 12);
    }

    #[test]
    fn lists_store_inline_and_boxed() {
        let mut lists = Lists::default();
        let a = Path::new(AttrId(1), 1);
        let b = Path::new(AttrId(2), 2);
        let mut slot = Slot::one(a);
        assert_eq!(lists.get(&slot), &[a]);
        lists.store(&mut slot, &[a, b]);
        assert_eq!(lists.get(&slot), &[a, b]);
        assert_eq!(lists.live, 1);
        slot.set_out(4, true);
        lists.store(&mut slot, &[b]);
        assert_eq!(lists.get(&slot), &[b]);
        assert_eq!(lists.live, 0);
        assert!(lists.lists.is_empty());
        lists.store(&mut slot, &[]);
        assert!(slot.is_empty());
        assert_eq!(lists.get(&slot), &[] as &[Path]);
        assert_eq!(slot.out(), 4, "the Adj-RIB-Out bits survive path changes");
        lists.store(&mut slot, &[a, b]);
        assert!(!slot.is_empty());
        assert_eq!(lists.get(&slot), &[a, b]);
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
