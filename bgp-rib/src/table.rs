//! Per-prefix storage: eight octets per path, no allocation for a prefix with one path.

use std::collections::HashMap;

use prefix_trie::map::{Entry, OccupiedEntry, VacantEntry};
use prefix_trie::{Prefix, PrefixMap};

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

/// Update groups whose Adj-RIB-Out record lives in the prefix's value (one bit each); groups
/// beyond these keep their own prefix set.
pub(crate) const OUT_BITS: usize = 32;

/// The value of a prefix, in its [`PrefixTable`] row: its only path inline (8 octets, the
/// common case in a full table), or an index into [`Lists`] when there are several; and
/// the Adj-RIB-Out record of the first [`OUT_BITS`] update groups: bit `g` set when group
/// `g` was last sent this prefix. Keeping the record here costs 4 octets per prefix for
/// all groups together, and reading it costs nothing beyond the lookup the export does
/// anyway.
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
    /// The value of a [`PrefixTable`] row that holds no prefix.
    fn vacant() -> Slot {
        Slot {
            head: Path {
                attrs: AttrId(0),
                tag: VACANT_MARK,
            },
            out: 0,
        }
    }
    fn is_vacant(&self) -> bool {
        self.head.tag & STATUS_MASK == VACANT_MARK
    }
    fn set_empty(&mut self) {
        self.head = Path {
            attrs: AttrId(0),
            tag: EMPTY_MARK,
        };
    }
}

/// Status code no path carries: marks a [`PrefixTable`] row that holds no prefix.
const VACANT_MARK: u32 = 13 << STATUS_SHIFT;

/// One row of a [`PrefixTable`]: the prefix and its value.
#[derive(Clone, Copy, Debug)]
struct Row<P> {
    prefix: P,
    slot: Slot,
}

/// Rows per chunk of [`Rows`] (80 KiB of IPv4 rows).
const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;

/// The rows of a [`PrefixTable`], in fixed-size chunks: growing never moves or copies
/// rows (a single array doubling from 10 to 20 MB would leave the old block as a hole in
/// the heap), and a row number splits into chunk and offset with a shift and a mask.
struct Rows<P> {
    chunks: Vec<Box<[Row<P>]>>,
    /// Rows handed out so far (the high-water mark).
    used: u32,
    /// Rows of removed prefixes, for reuse.
    free: Vec<u32>,
}

impl<P: Copy + Default> Rows<P> {
    fn new() -> Self {
        Rows {
            chunks: Vec::new(),
            used: 0,
            free: Vec::new(),
        }
    }

    fn split(i: u32) -> (usize, usize) {
        ((i >> CHUNK_BITS) as usize, i as usize & (CHUNK - 1))
    }

    fn get(&self, i: u32) -> Option<&Row<P>> {
        if i >= self.used {
            return None;
        }
        let (c, o) = Self::split(i);
        self.chunks.get(c)?.get(o)
    }

    /// A row for `row`: a freed one, or the next unused one.
    fn alloc(&mut self, row: Row<P>) -> u32 {
        if let Some(i) = self.free.pop() {
            let (c, o) = Self::split(i);
            if let Some(r) = self.chunks.get_mut(c).and_then(|c| c.get_mut(o)) {
                *r = row;
                return i;
            }
        }
        let i = self.used;
        let (c, o) = Self::split(i);
        if c >= self.chunks.len() {
            let vacant = Row {
                prefix: P::default(),
                slot: Slot::vacant(),
            };
            self.chunks.push(vec![vacant; CHUNK].into_boxed_slice());
        }
        if let Some(r) = self.chunks.get_mut(c).and_then(|c| c.get_mut(o)) {
            *r = row;
        }
        self.used += 1;
        i
    }

    /// The value in row `i`, which must be in use; if it is not (a bug), a new row with no
    /// path is taken instead. Returns the row number, the value, and the free list (for
    /// the row's removal).
    fn slot_mut(&mut self, i: u32, prefix: P) -> (u32, &mut Slot, &mut Vec<u32>) {
        let i = if self.get(i).is_some() {
            i
        } else {
            let mut slot = Slot::vacant();
            slot.set_empty();
            self.alloc(Row { prefix, slot })
        };
        let (c, o) = Self::split(i);
        let Rows { chunks, free, .. } = self;
        #[allow(clippy::indexing_slicing)] // row i exists: checked or just allocated above
        (i, &mut chunks[c][o].slot, free)
    }

    fn release(&mut self, i: u32) {
        let (c, o) = Self::split(i);
        if i < self.used
            && let Some(r) = self.chunks.get_mut(c).and_then(|c| c.get_mut(o))
        {
            r.slot = Slot::vacant();
            self.free.push(i);
        }
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Row<P>> + '_ {
        let used = self.used as usize;
        self.chunks.iter_mut().flat_map(|c| c.iter_mut()).take(used)
    }

    fn bytes(&self) -> usize {
        self.chunks.len() * CHUNK * core::mem::size_of::<Row<P>>()
            + self.chunks.capacity() * core::mem::size_of::<Box<[Row<P>]>>()
            + self.free.capacity() * 4
    }
}

/// The table of one address family: a [`PrefixMap`] from each prefix to a row number, and
/// the rows (prefix and [`Slot`]) in dense arrays.
///
/// Lookups by prefix go through the trie. What the rows add: the walks that touch every
/// prefix (a full export, a peer's routes going away, graceful-restart marking) read them
/// in memory order, a few nanoseconds a row, where iterating the trie costs a cache
/// miss per prefix once the table outgrows the CPU cache (about 160 ns per prefix for a
/// full table that arrived in the order a peer sends it). The trie's values shrink from
/// 12 octets to 4, so the arrays the trie re-tiers on insertion are a third of the size;
/// the rows cost 20 octets a prefix for IPv4 (36 for IPv6).
///
/// Rows of removed prefixes are reused by the next insertions; like the trie's own
/// nodes, the rows are given back when the table is empty.
pub(crate) struct PrefixTable<P> {
    index: PrefixMap<P, u32>,
    rows: Rows<P>,
}

impl<P: Prefix + Copy + Default> Default for PrefixTable<P> {
    fn default() -> Self {
        PrefixTable {
            index: PrefixMap::new(),
            rows: Rows::new(),
        }
    }
}

/// A prefix found in (or missing from) a [`PrefixTable`], from one trie lookup.
pub(crate) enum TableEntry<'a, P> {
    Occupied(OccupiedRow<'a, P>),
    Vacant(VacantRow<'a, P>),
}

/// A prefix present in a [`PrefixTable`].
pub(crate) struct OccupiedRow<'a, P> {
    entry: OccupiedEntry<'a, P, u32>,
    slot: &'a mut Slot,
    row: u32,
    free: &'a mut Vec<u32>,
}

/// A prefix absent from a [`PrefixTable`]; inserting it needs no second lookup.
pub(crate) struct VacantRow<'a, P> {
    entry: VacantEntry<'a, P, u32>,
    prefix: P,
    rows: &'a mut Rows<P>,
}

impl<P: Prefix + Copy> OccupiedRow<'_, P> {
    pub(crate) fn get_mut(&mut self) -> &mut Slot {
        self.slot
    }

    /// The prefix's row number ([`PrefixTable::prefix_at`]).
    pub(crate) fn row(&self) -> u32 {
        self.row
    }

    /// Removes the prefix; its row is kept for reuse.
    pub(crate) fn remove(self) {
        self.entry.remove();
        *self.slot = Slot::vacant();
        self.free.push(self.row);
    }
}

impl<P: Prefix + Copy + Default> VacantRow<'_, P> {
    pub(crate) fn insert(self, slot: Slot) {
        let i = self.rows.alloc(Row {
            prefix: self.prefix,
            slot,
        });
        self.entry.insert(i);
    }
}

impl<P: Prefix + Copy + Default> PrefixTable<P> {
    /// Number of prefixes.
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Looks `prefix` up once, to read, change, remove or insert it.
    pub(crate) fn entry(&mut self, prefix: P) -> TableEntry<'_, P> {
        let PrefixTable { index, rows } = self;
        match index.entry(prefix) {
            Entry::Occupied(mut entry) => {
                let was = *entry.get();
                let (row, slot, free) = rows.slot_mut(was, prefix);
                if row != was {
                    *entry.get_mut() = row;
                }
                TableEntry::Occupied(OccupiedRow {
                    entry,
                    slot,
                    row,
                    free,
                })
            }
            Entry::Vacant(entry) => TableEntry::Vacant(VacantRow {
                entry,
                prefix,
                rows,
            }),
        }
    }

    pub(crate) fn get(&self, prefix: &P) -> Option<&Slot> {
        let &i = self.index.get(prefix)?;
        self.rows.get(i).map(|r| &r.slot)
    }

    /// Removes a prefix.
    pub(crate) fn remove(&mut self, prefix: &P) {
        if let Some(i) = self.index.remove(prefix) {
            self.rows.release(i);
        }
    }

    /// Every prefix and its value, in prefix order (one trie walk).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (P, &Slot)> + '_ {
        self.index
            .iter()
            .filter_map(|(p, &i)| self.rows.get(i).map(|r| (p, &r.slot)))
    }

    /// Every prefix and its value with its row number, in row order (no trie access).
    pub(crate) fn rows_mut(&mut self) -> impl Iterator<Item = (u32, P, &mut Slot)> + '_ {
        self.rows
            .iter_mut()
            .zip(0u32..)
            .filter(|(r, _)| !r.slot.is_vacant())
            .map(|(r, i)| (i, r.prefix, &mut r.slot))
    }

    /// The prefix in row `row`, if the row holds one.
    pub(crate) fn prefix_at(&self, row: u32) -> Option<P> {
        self.rows
            .get(row)
            .filter(|r| !r.slot.is_vacant())
            .map(|r| r.prefix)
    }

    /// Gives all memory back once the table is empty.
    pub(crate) fn tidy(&mut self) {
        if self.index.is_empty() {
            *self = PrefixTable::default();
        }
    }

    /// Bytes held by the trie and the rows (not what the values point to).
    pub(crate) fn mem_size(&self) -> usize {
        self.index.mem_size() + self.rows.bytes()
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

    fn v4(s: &str) -> ipnet::Ipv4Net {
        s.parse().unwrap()
    }

    fn attrs_of(t: &PrefixTable<ipnet::Ipv4Net>, p: &str) -> Option<u32> {
        t.get(&v4(p)).map(|s| s.head.attrs.0)
    }

    #[test]
    fn prefix_table_inserts_finds_and_reuses_rows() {
        let mut t: PrefixTable<ipnet::Ipv4Net> = PrefixTable::default();
        for (i, p) in ["10.0.0.0/8", "10.1.0.0/16", "192.0.2.0/24"]
            .iter()
            .enumerate()
        {
            match t.entry(v4(p)) {
                TableEntry::Vacant(v) => v.insert(Slot::one(Path::new(AttrId(i as u32), 1))),
                TableEntry::Occupied(_) => panic!("{p} present before insertion"),
            }
        }
        assert_eq!(t.len(), 3);
        assert_eq!(attrs_of(&t, "10.1.0.0/16"), Some(1));
        assert_eq!(attrs_of(&t, "10.1.0.0/17"), None);
        match t.entry(v4("10.1.0.0/16")) {
            TableEntry::Occupied(mut o) => o.get_mut().set_out(2, true),
            TableEntry::Vacant(_) => panic!("10.1.0.0/16 missing"),
        }
        assert_eq!(t.get(&v4("10.1.0.0/16")).map(Slot::out), Some(2));
        // Removal frees the row; the next insertion takes it instead of growing.
        match t.entry(v4("10.0.0.0/8")) {
            TableEntry::Occupied(o) => o.remove(),
            TableEntry::Vacant(_) => panic!("10.0.0.0/8 missing"),
        }
        assert_eq!(t.len(), 2);
        assert_eq!(t.rows_mut().count(), 2, "a freed row is not walked");
        if let TableEntry::Vacant(v) = t.entry(v4("198.51.100.0/24")) {
            v.insert(Slot::one(Path::new(AttrId(9), 1)));
        }
        assert_eq!(t.rows.used, 3, "the freed row was reused");
        assert_eq!(attrs_of(&t, "198.51.100.0/24"), Some(9));
        // The walk in prefix order and the walk in row order see the same prefixes.
        let ordered: Vec<_> = t.iter().map(|(p, s)| (p, s.head.attrs.0)).collect();
        let mut by_row: Vec<_> = t.rows_mut().map(|(_, p, s)| (p, s.head.attrs.0)).collect();
        by_row.sort();
        assert_eq!(ordered, by_row);
        assert_eq!(
            ordered.iter().map(|x| x.0.to_string()).collect::<Vec<_>>(),
            ["10.1.0.0/16", "192.0.2.0/24", "198.51.100.0/24"]
        );
        for p in ["10.1.0.0/16", "192.0.2.0/24", "198.51.100.0/24"] {
            t.remove(&v4(p));
        }
        t.tidy();
        assert!(t.is_empty());
        assert_eq!(
            t.mem_size(),
            PrefixTable::<ipnet::Ipv4Net>::default().mem_size()
        );
    }

    #[test]
    fn prefix_table_rows_span_chunks_and_come_back_when_empty() {
        let mut t: PrefixTable<ipnet::Ipv4Net> = PrefixTable::default();
        let empty = t.mem_size();
        let net = |i: u32| ipnet::Ipv4Net::new(core::net::Ipv4Addr::from(i << 8), 24).unwrap();
        let n = 3 * CHUNK as u32 + 5;
        for i in 0..n {
            if let TableEntry::Vacant(v) = t.entry(net(i)) {
                v.insert(Slot::one(Path::new(AttrId(i), 1)));
            }
        }
        assert_eq!(t.rows.chunks.len(), 4);
        for i in (0..n).filter(|i| i % 4 != 0) {
            t.remove(&net(i));
        }
        assert_eq!(t.len(), (n as usize).div_ceil(4));
        assert_eq!(t.rows_mut().count(), t.len());
        for i in 0..n {
            let want = (i % 4 == 0).then_some(i);
            assert_eq!(t.get(&net(i)).map(|s| s.head.attrs.0), want, "prefix {i}");
        }
        // New prefixes take freed rows before the high-water mark moves.
        let used = t.rows.used;
        for i in n..n + 100 {
            if let TableEntry::Vacant(v) = t.entry(net(i)) {
                v.insert(Slot::one(Path::new(AttrId(i), 1)));
            }
        }
        assert_eq!(t.rows.used, used);
        for i in 0..n + 100 {
            t.remove(&net(i));
        }
        t.tidy();
        assert!(t.is_empty());
        assert_eq!(t.mem_size(), empty);
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
