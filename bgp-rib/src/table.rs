//! Per-prefix storage: eight octets per path, no allocation for a prefix with one path.

use std::collections::HashMap;

use ipnet::{Ipv4Net, Ipv6Net};

use crate::attrs::AttrId;
use crate::best::PathStatus;
use crate::index::{Index, Probe};
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
    /// For a slot with several paths: how many, and where the [`Lists`] keep them.
    fn list(self) -> Option<(usize, u32)> {
        (self.head.tag & STATUS_MASK == LIST_MARK)
            .then_some(((self.head.tag & SOURCE_MASK) as usize, self.head.attrs.0))
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

    /// Whether row `i` holds `prefix` (asked by the index only when the hashes agree).
    fn holds(&self, prefix: P) -> impl Fn(u32) -> bool + '_
    where
        P: PartialEq,
    {
        move |i| self.get(i).is_some_and(|r| r.prefix == prefix)
    }

    fn iter(&self) -> impl Iterator<Item = &Row<P>> + '_ {
        let used = self.used as usize;
        self.chunks.iter().flat_map(|c| c.iter()).take(used)
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

/// The table of one address family: the rows (prefix and [`Slot`]) in dense arrays, and a
/// hash index from each prefix to its row.
///
/// The RIB's hot operations are exact: an UPDATE names prefixes, a withdrawal names
/// prefixes. A hash probe finds a prefix with about one cache miss, where a trie walk
/// misses once per level for a table that arrives in scattered order (a peer packs
/// its UPDATEs by attribute set, not by prefix); prefix-trie 0.10 alone took 140–190 ns
/// per lookup or insert of a full table, most of the 200 ns the RIB's insert budget
/// allows. The walks that touch every prefix (a full export, a peer's routes going away,
/// graceful-restart marking) read the rows in memory order; [`PrefixTable::iter`] sorts
/// them when prefix order is asked for (a CLI listing).
///
/// An index entry is the row number and 32 bits of the prefix's hash, one 8-octet word in
/// a linear-probing table ([`Index`]): an insert touches one place in the index, growing
/// it rehashes without reading the rows, and a probe reads a row only when the stored
/// hash matches. The hash is keyed per table with random keys, as peers choose the
/// prefixes. Import and withdrawal load the index words (and rows) of the next prefixes
/// ahead of looking them up ([`PrefixTable::read_ahead`]), so that their misses overlap.
/// Rows of removed prefixes are reused by the next insertions; removing many prefixes at
/// once ([`PrefixTable::remove_rows`]) sweeps the index once instead of probing it per
/// prefix; the rows and the index are given back when the table is empty.
pub(crate) struct PrefixTable<P> {
    /// 32-bit hash of a prefix → its row.
    index: Index,
    keys: HashKeys,
    rows: Rows<P>,
}

/// A prefix as hash input: its address and length, hashed with a table's keys.
pub(crate) trait PrefixKey: Copy + PartialEq {
    /// Hashes the prefix with the table's keys.
    fn hash_with(&self, k: &HashKeys) -> u32;
}

/// Random keys of one table's prefix hash.
pub(crate) struct HashKeys([u64; 3]);

impl HashKeys {
    fn new() -> Self {
        use core::hash::{BuildHasher, Hasher};
        // std's RandomState draws its keys from the OS once per process and steps them
        // per instance: three words from a fresh SipHash state.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        let mut k = [0u64; 3];
        for (i, w) in (0u64..).zip(k.iter_mut()) {
            h.write_u64(i);
            *w = h.finish() | 1;
        }
        HashKeys(k)
    }
}

/// The folded 64×64→128-bit product: both halves of the product mixed.
fn fold(a: u64, b: u64) -> u64 {
    let m = u128::from(a).wrapping_mul(u128::from(b));
    (m as u64) ^ ((m >> 64) as u64)
}

impl PrefixKey for Ipv4Net {
    fn hash_with(&self, k: &HashKeys) -> u32 {
        let w = (u64::from(u32::from(self.network())) << 8) | u64::from(self.prefix_len());
        fold(w ^ k.0[0], k.0[1]) as u32
    }
}

impl PrefixKey for Ipv6Net {
    fn hash_with(&self, k: &HashKeys) -> u32 {
        let a = u128::from(self.network());
        let x = fold((a >> 64) as u64 ^ k.0[0], a as u64 ^ k.0[1]);
        fold(x ^ u64::from(self.prefix_len()), k.0[2]) as u32
    }
}

impl<P: Copy + Default> Default for PrefixTable<P> {
    fn default() -> Self {
        PrefixTable {
            index: Index::default(),
            keys: HashKeys::new(),
            rows: Rows::new(),
        }
    }
}

/// A prefix found in (or missing from) a [`PrefixTable`], from one lookup.
pub(crate) enum TableEntry<'a, P> {
    Occupied(OccupiedRow<'a>),
    Vacant(VacantRow<'a, P>),
}

/// A prefix present in a [`PrefixTable`].
pub(crate) struct OccupiedRow<'a> {
    index: &'a mut Index,
    pos: usize,
    slot: &'a mut Slot,
    row: u32,
    free: &'a mut Vec<u32>,
}

/// A prefix absent from a [`PrefixTable`]; inserting it needs no second lookup.
pub(crate) struct VacantRow<'a, P> {
    index: &'a mut Index,
    pos: usize,
    prefix: P,
    hash: u32,
    rows: &'a mut Rows<P>,
}

impl OccupiedRow<'_> {
    pub(crate) fn get_mut(&mut self) -> &mut Slot {
        self.slot
    }

    /// The prefix's row number ([`PrefixTable::prefix_at`]).
    pub(crate) fn row(&self) -> u32 {
        self.row
    }

    /// Removes the prefix; its row is kept for reuse.
    pub(crate) fn remove(self) {
        self.index.remove_at(self.pos);
        *self.slot = Slot::vacant();
        self.free.push(self.row);
    }
}

impl<P: Copy + Default> VacantRow<'_, P> {
    pub(crate) fn insert(self, slot: Slot) {
        let i = self.rows.alloc(Row {
            prefix: self.prefix,
            slot,
        });
        self.index.insert_at(self.pos, self.hash, i);
    }
}

impl<P: PrefixKey + Ord + Default> PrefixTable<P> {
    /// Number of prefixes.
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Looks `prefix` up once, to read, change, remove or insert it.
    pub(crate) fn entry(&mut self, prefix: P) -> TableEntry<'_, P> {
        let PrefixTable { index, rows, keys } = self;
        let h = prefix.hash_with(keys);
        match index.probe(h, rows.holds(prefix)) {
            Probe::Found { pos, row: was } => {
                let (row, slot, free) = rows.slot_mut(was, prefix);
                if row != was {
                    index.set_row(pos, row);
                }
                TableEntry::Occupied(OccupiedRow {
                    index,
                    pos,
                    slot,
                    row,
                    free,
                })
            }
            Probe::Missing { pos } => TableEntry::Vacant(VacantRow {
                index,
                pos,
                prefix,
                hash: h,
                rows,
            }),
        }
    }

    /// The prefix's hash in this table.
    pub(crate) fn hash(&self, prefix: P) -> u32 {
        prefix.hash_with(&self.keys)
    }

    /// Loads what lookups of these hashes will read: first the index words where their
    /// probes start ([`Index::home_words`]), then the rows of those found (a lookup of a
    /// present prefix reads its row to compare). Returns the loaded words combined, so
    /// the loads are not left out.
    pub(crate) fn read_ahead(&self, hashes: &[u32]) -> u64 {
        let mut seen = self.index.home_words(hashes);
        self.index.rows_near_home(hashes, |i| {
            seen ^= self.rows.get(i).map_or(0, |r| u64::from(r.slot.out));
        });
        seen
    }

    pub(crate) fn get(&self, prefix: &P) -> Option<&Slot> {
        let h = prefix.hash_with(&self.keys);
        match self.index.probe(h, self.rows.holds(*prefix)) {
            Probe::Found { row, .. } => self.rows.get(row).map(|r| &r.slot),
            Probe::Missing { .. } => None,
        }
    }

    /// Removes a prefix.
    pub(crate) fn remove(&mut self, prefix: &P) {
        let h = prefix.hash_with(&self.keys);
        if let Probe::Found { pos, row } = self.index.probe(h, self.rows.holds(*prefix)) {
            self.index.remove_at(pos);
            self.rows.release(row);
        }
    }

    /// Removes the prefixes in `rows` (row numbers from [`PrefixTable::rows_mut`]). When
    /// they are many, the index is swept once instead of probed once per prefix.
    pub(crate) fn remove_rows(&mut self, rows: &[u32]) {
        if rows.len() < self.index.len() / 8 {
            for &i in rows {
                if let Some(p) = self.prefix_at(i) {
                    self.remove(&p);
                }
            }
            return;
        }
        let mut gone = vec![0u64; (self.rows.used as usize).div_ceil(64)];
        for &i in rows {
            if let Some(w) = gone.get_mut(i as usize / 64) {
                *w |= 1 << (i % 64);
            }
        }
        let is_gone = |i: u32| {
            gone.get(i as usize / 64)
                .is_some_and(|w| w & (1 << (i % 64)) != 0)
        };
        // Only rows that hold a prefix are released (each once, though listed twice).
        for &i in rows {
            if self.prefix_at(i).is_some() {
                self.rows.release(i);
            }
        }
        self.index.retain(|i| !is_gone(i));
    }

    /// Every prefix and its value, in prefix order (the rows, sorted).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (P, &Slot)> + '_ {
        let mut v: Vec<(P, u32)> = (0..self.rows.used)
            .filter_map(|i| self.prefix_at(i).map(|p| (p, i)))
            .collect();
        v.sort_unstable_by_key(|&(p, _)| p);
        v.into_iter()
            .filter_map(|(p, i)| self.rows.get(i).map(|r| (p, &r.slot)))
    }

    /// Every prefix and its value with its row number, in row order (no index access).
    pub(crate) fn rows_mut(&mut self) -> impl Iterator<Item = (u32, P, &mut Slot)> + '_ {
        self.rows
            .iter_mut()
            .zip(0u32..)
            .filter(|(r, _)| !r.slot.is_vacant())
            .map(|(r, i)| (i, r.prefix, &mut r.slot))
    }

    /// Every value, in row order (no particular prefix order; no sort).
    pub(crate) fn values(&self) -> impl Iterator<Item = &Slot> + '_ {
        self.rows
            .iter()
            .filter(|r| !r.slot.is_vacant())
            .map(|r| &r.slot)
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

    /// Bytes held by the index and the rows (not what the values point to).
    pub(crate) fn mem_size(&self) -> usize {
        self.index.allocation_size() + self.rows.bytes()
    }
}

/// Longest path list kept in a [`Pool`]; longer ones get a box each.
const POOLED_MAX: usize = 16;
/// Blocks per chunk of a [`Pool`]: small, because every length in use takes a chunk (a
/// gateway with a few tunnels and a hundred prefixes holds 64 × 8 × n octets a length).
const POOL_CHUNK: usize = 64;

/// Blocks of one length `n` (2 ≤ n ≤ [`POOLED_MAX`]) in fixed-size chunks: a block costs
/// its `8 × n` octets and nothing else (no pointer, no allocator header). A pool whose
/// last block is freed gives its memory back, so lists that grow or shrink in step (every
/// prefix gaining a path as a peer's table arrives, or losing one as it goes) leave no
/// blocks behind.
#[derive(Default)]
struct Pool {
    chunks: Vec<Box<[Path]>>,
    /// Blocks handed out so far (the high-water mark).
    used: u32,
    free: Vec<u32>,
    live: u32,
}

impl Pool {
    fn block(&self, n: usize, i: u32) -> Option<&[Path]> {
        let (c, o) = (i as usize / POOL_CHUNK, i as usize % POOL_CHUNK);
        self.chunks.get(c)?.get(o * n..(o + 1) * n)
    }

    fn block_mut(&mut self, n: usize, i: u32) -> Option<&mut [Path]> {
        let (c, o) = (i as usize / POOL_CHUNK, i as usize % POOL_CHUNK);
        self.chunks.get_mut(c)?.get_mut(o * n..(o + 1) * n)
    }

    fn alloc(&mut self, paths: &[Path]) -> u32 {
        let n = paths.len();
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                let i = self.used;
                if i as usize / POOL_CHUNK >= self.chunks.len() {
                    let filler = Path {
                        attrs: AttrId(0),
                        tag: 0,
                    };
                    self.chunks
                        .push(vec![filler; POOL_CHUNK * n].into_boxed_slice());
                }
                self.used += 1;
                i
            }
        };
        if let Some(b) = self.block_mut(n, i) {
            b.copy_from_slice(paths);
        }
        self.live += 1;
        i
    }

    fn release(&mut self, i: u32) {
        self.live = self.live.saturating_sub(1);
        if self.live == 0 {
            *self = Pool::default();
        } else {
            self.free.push(i);
        }
    }
}

/// Path lists of prefixes with more than one path, best first, then the multipath
/// members, then the rest. Lists of up to [`POOLED_MAX`] paths live in a [`Pool`] per
/// length (ten paths take 80 octets, no more); longer ones in exact-size boxes. The slot
/// holds the list's length and block number.
#[derive(Default)]
pub(crate) struct Lists {
    /// `pools[n - 2]`: the lists of `n` paths.
    pools: Vec<Pool>,
    big: Vec<Box<[Path]>>,
    big_free: Vec<u32>,
    big_live: usize,
}

impl Lists {
    /// The paths of a slot.
    pub(crate) fn get<'a>(&'a self, slot: &'a Slot) -> &'a [Path] {
        if slot.is_empty() {
            return &[];
        }
        match slot.list() {
            None => core::slice::from_ref(&slot.head),
            Some((n, i)) if n <= POOLED_MAX => n
                .checked_sub(2)
                .and_then(|p| self.pools.get(p))
                .and_then(|p| p.block(n, i))
                .unwrap_or(&[]),
            Some((_, i)) => self.big.get(i as usize).map_or(&[][..], |b| &b[..]),
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
        let current = slot.list();
        if let Some((n, i)) = current
            && n == paths.len()
        {
            // Same length: in place.
            let block = if n <= POOLED_MAX {
                n.checked_sub(2)
                    .and_then(|p| self.pools.get_mut(p))
                    .and_then(|p| p.block_mut(n, i))
            } else {
                self.big.get_mut(i as usize).map(|b| &mut b[..])
            };
            if let Some(b) = block {
                b.copy_from_slice(paths);
            }
            return;
        }
        if let Some((n, i)) = current {
            self.release(n, i);
        }
        match paths {
            [] => slot.set_empty(),
            [only] => slot.head = *only,
            many => {
                let n = many.len();
                let i = if n <= POOLED_MAX {
                    if self.pools.len() < POOLED_MAX - 1 {
                        self.pools.resize_with(POOLED_MAX - 1, Pool::default);
                    }
                    match n.checked_sub(2).and_then(|p| self.pools.get_mut(p)) {
                        Some(p) => p.alloc(many),
                        None => return,
                    }
                } else {
                    self.big_live += 1;
                    match self.big_free.pop() {
                        Some(i) => {
                            if let Some(b) = self.big.get_mut(i as usize) {
                                *b = many.into();
                            }
                            i
                        }
                        None => {
                            self.big.push(many.into());
                            (self.big.len() - 1) as u32
                        }
                    }
                };
                slot.head = Path {
                    attrs: AttrId(i),
                    tag: LIST_MARK | (n as u32 & SOURCE_MASK),
                };
            }
        }
    }

    /// Frees the list of `n` paths at `i`.
    fn release(&mut self, n: usize, i: u32) {
        if n <= POOLED_MAX {
            if let Some(p) = n.checked_sub(2).and_then(|p| self.pools.get_mut(p)) {
                p.release(i);
                // The other pools are looked at only when this one has emptied.
                if p.live == 0 && self.pools.iter().all(|p| p.live == 0) {
                    self.pools = Vec::new();
                }
            }
        } else {
            if let Some(b) = self.big.get_mut(i as usize) {
                *b = Box::new([]);
            }
            self.big_free.push(i);
            self.big_live = self.big_live.saturating_sub(1);
            if self.big_live == 0 {
                self.big = Vec::new();
                self.big_free = Vec::new();
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

    impl Lists {
        fn live(&self) -> usize {
            self.pools.iter().map(|p| p.live as usize).sum::<usize>() + self.big_live
        }
    }

    #[test]
    fn lists_store_inline_and_pooled() {
        let mut lists = Lists::default();
        let a = Path::new(AttrId(1), 1);
        let b = Path::new(AttrId(2), 2);
        let mut slot = Slot::one(a);
        assert_eq!(lists.get(&slot), &[a]);
        lists.store(&mut slot, &[a, b]);
        assert_eq!(lists.get(&slot), &[a, b]);
        assert_eq!(lists.live(), 1);
        slot.set_out(4, true);
        lists.store(&mut slot, &[b]);
        assert_eq!(lists.get(&slot), &[b]);
        assert_eq!(lists.live(), 0);
        assert!(lists.pools.is_empty() && lists.big.is_empty());
        lists.store(&mut slot, &[]);
        assert!(slot.is_empty());
        assert_eq!(lists.get(&slot), &[] as &[Path]);
        assert_eq!(slot.out(), 4, "the Adj-RIB-Out bits survive path changes");
        lists.store(&mut slot, &[a, b]);
        assert!(!slot.is_empty());
        assert_eq!(lists.get(&slot), &[a, b]);
    }

    /// `n` distinct paths for slot `k`.
    fn paths_for(k: u32, n: usize) -> Vec<Path> {
        (0..n as u32)
            .map(|j| Path::new(AttrId(k * 100 + j), j + 1))
            .collect()
    }

    #[test]
    fn lists_grow_in_step_through_pools_and_give_memory_back() {
        let mut lists = Lists::default();
        // More slots than a chunk holds, each growing one path at a time, as when peers'
        // tables arrive one after the other.
        let count = POOL_CHUNK as u32 * 2 + 5;
        let mut slots: Vec<Slot> = (0..count).map(|k| Slot::one(paths_for(k, 1)[0])).collect();
        for n in 2..=4 {
            for (k, slot) in (0..).zip(slots.iter_mut()) {
                lists.store(slot, &paths_for(k, n));
            }
            // The shorter lists' pool is empty, so it holds no memory.
            assert!(n == 2 || lists.pools[n - 3].chunks.is_empty());
        }
        for (k, slot) in (0..).zip(&slots) {
            assert_eq!(lists.get(slot), &paths_for(k, 4)[..], "slot {k}");
        }
        assert_eq!(lists.live(), count as usize);
        assert_eq!(
            lists.pools[2].chunks.len(),
            (count as usize).div_ceil(POOL_CHUNK),
            "just enough chunks of blocks of 4"
        );
        // Same length: rewritten in place.
        let mut swapped = paths_for(7, 4);
        swapped.swap(0, 3);
        lists.store(&mut slots[7], &swapped);
        assert_eq!(lists.get(&slots[7]), &swapped[..]);
        assert_eq!(lists.live(), count as usize);
        // Past the pooled lengths a list gets a box; back in range, the pool's freed
        // block is taken again rather than a new one.
        let used = lists.pools[2].used;
        lists.store(&mut slots[9], &paths_for(9, POOLED_MAX + 3));
        assert_eq!(lists.get(&slots[9]), &paths_for(9, POOLED_MAX + 3)[..]);
        assert_eq!(lists.big_live, 1);
        lists.store(&mut slots[9], &paths_for(9, 4));
        assert_eq!(lists.get(&slots[9]), &paths_for(9, 4)[..]);
        assert_eq!(lists.pools[2].used, used);
        assert!(
            lists.big.is_empty(),
            "the last box gone, its table goes too"
        );
        // Every list back to one path: nothing left.
        for (k, slot) in (0..).zip(slots.iter_mut()) {
            lists.store(slot, &paths_for(k, 1));
            assert_eq!(lists.get(slot), &paths_for(k, 1)[..]);
        }
        assert_eq!(lists.live(), 0);
        assert!(lists.pools.is_empty());
    }

    fn v4(s: &str) -> ipnet::Ipv4Net {
        s.parse().unwrap()
    }

    fn attrs_of(t: &PrefixTable<ipnet::Ipv4Net>, p: &str) -> Option<u32> {
        t.get(&v4(p)).map(|s| s.head.attrs.0)
    }

    #[test]
    fn removing_rows_few_or_many_leaves_the_rest_findable() {
        let mut t: PrefixTable<ipnet::Ipv4Net> = PrefixTable::default();
        let prefixes: Vec<ipnet::Ipv4Net> = (0..200u32)
            .map(|i| ipnet::Ipv4Net::new((0x0a00_0000 + (i << 8)).into(), 24).unwrap())
            .collect();
        for (i, p) in (0u32..).zip(&prefixes) {
            if let TableEntry::Vacant(v) = t.entry(*p) {
                v.insert(Slot::one(Path::new(AttrId(i), 1)));
            }
        }
        let row_of = |t: &mut PrefixTable<ipnet::Ipv4Net>, p| match t.entry(p) {
            TableEntry::Occupied(o) => o.row(),
            TableEntry::Vacant(_) => panic!("{p} missing"),
        };
        // Few (probed one by one), then many (one sweep of the index), one listed twice.
        let few: Vec<u32> = prefixes[..5].iter().map(|&p| row_of(&mut t, p)).collect();
        t.remove_rows(&few);
        let mut many: Vec<u32> = prefixes[5..120]
            .iter()
            .map(|&p| row_of(&mut t, p))
            .collect();
        many.push(many[0]);
        t.remove_rows(&many);
        assert_eq!(t.len(), 80);
        for (i, p) in (0u32..).zip(&prefixes) {
            let held = t.get(p).map(|s| s.head.attrs.0);
            assert_eq!(held, (i >= 120).then_some(i), "{p}");
        }
        assert_eq!(t.rows_mut().count(), 80);
        // The freed rows are reused.
        if let TableEntry::Vacant(v) = t.entry(prefixes[0]) {
            v.insert(Slot::one(Path::new(AttrId(7), 1)));
        }
        assert_eq!(t.rows.used, 200);
        assert_eq!(t.get(&prefixes[0]).map(|s| s.head.attrs.0), Some(7));
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
    fn prefix_table_tells_lengths_and_families_apart() {
        let mut t4: PrefixTable<ipnet::Ipv4Net> = PrefixTable::default();
        let mut t6: PrefixTable<ipnet::Ipv6Net> = PrefixTable::default();
        let v4s = [
            "10.0.0.0/8",
            "10.0.0.0/16",
            "10.0.0.0/24",
            "0.0.0.0/0",
            "10.0.0.0/32",
        ];
        let v6s = ["2001:db8::/32", "2001:db8::/48", "::/0", "2001:db8::/128"];
        for (i, p) in (0..).zip(v4s) {
            if let TableEntry::Vacant(v) = t4.entry(v4(p)) {
                v.insert(Slot::one(Path::new(AttrId(i), 1)));
            }
        }
        for (i, p) in (0..).zip(v6s) {
            if let TableEntry::Vacant(v) = t6.entry(p.parse().unwrap()) {
                v.insert(Slot::one(Path::new(AttrId(i), 1)));
            }
        }
        assert_eq!((t4.len(), t6.len()), (5, 4));
        for (i, p) in (0..).zip(v4s) {
            assert_eq!(attrs_of(&t4, p), Some(i), "{p}");
        }
        for (i, p) in (0..).zip(v6s) {
            let got = t6.get(&p.parse().unwrap()).map(|s| s.head.attrs.0);
            assert_eq!(got, Some(i), "{p}");
        }
        assert_eq!(attrs_of(&t4, "10.0.0.0/12"), None);
        t4.remove(&v4("10.0.0.0/16"));
        assert_eq!(attrs_of(&t4, "10.0.0.0/16"), None);
        assert_eq!(attrs_of(&t4, "10.0.0.0/8"), Some(0));
        assert_eq!(attrs_of(&t4, "10.0.0.0/24"), Some(2));
        let order: Vec<String> = t6.iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(
            order,
            ["::/0", "2001:db8::/32", "2001:db8::/48", "2001:db8::/128"]
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
