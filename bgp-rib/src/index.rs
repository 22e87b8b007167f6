//! The prefix tables' hash index: open addressing with linear probing, one 8-octet word
//! per entry and nothing else.
//!
//! A word holds 32 bits of the prefix's (keyed) hash and the prefix's row number. A probe
//! starts at the word the hash's high bits name and reads the following words until it
//! finds the prefix or an empty word: for an insert into a large table that is one cache
//! miss, where a table with separate control bytes (hashbrown's) touches two places.
//! Because the start is taken from the high bits, the entries lie in hash order (apart
//! from runs that wrap around the end), so growing the index reads the old words and
//! writes the new ones front to back. Removal shifts the following entries back (no
//! tombstones), so probes stay as short as the load factor makes them.
//!
//! The hash is keyed per table with random keys, as peers choose the prefixes: an attacker
//! who cannot see the keys cannot aim prefixes at one stretch of the index.

/// Smallest index: 16 words.
const MIN_BITS: u32 = 4;

/// The index grows when more than `LOAD_NUM / LOAD_DEN` of its words are in use: a probe
/// for an absent prefix then reads about four words (half a cache line) on average at
/// the fullest, fewer below.
const LOAD_NUM: usize = 5;
const LOAD_DEN: usize = 8;

/// Words of a probe that [`Index::rows_near_home`] looks at: half a cache line; most
/// entries are at most one word from home at the loads the index allows.
const NEAR_HOME: usize = 4;

/// The stored form of a hash: never zero, so that a zero word means empty. The low bit is
/// given up; positions come from the high bits.
fn stored(h: u32) -> u32 {
    h | 1
}

fn word(h: u32, row: u32) -> u64 {
    (u64::from(stored(h)) << 32) | u64::from(row)
}

fn hash_of(w: u64) -> u32 {
    (w >> 32) as u32
}

fn row_of(w: u64) -> u32 {
    w as u32
}

/// Where a probe for a hash ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Probe {
    /// The entry at this position (its row number alongside).
    Found { pos: usize, row: u32 },
    /// The empty word where the entry would go.
    Missing { pos: usize },
}

/// Hash → row number, for one [`crate::table::PrefixTable`].
#[derive(Default)]
pub(crate) struct Index {
    /// A power of two in length, or empty.
    words: Vec<u64>,
    /// `32 - log2(words.len())`: a hash's home position is `hash >> shift`.
    shift: u32,
    len: usize,
}

impl Index {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held.
    pub(crate) fn allocation_size(&self) -> usize {
        self.words.capacity() * core::mem::size_of::<u64>()
    }

    fn mask(&self) -> usize {
        self.words.len().wrapping_sub(1)
    }

    fn home(&self, stored: u32) -> usize {
        (stored >> self.shift) as usize
    }

    fn at(&self, pos: usize) -> u64 {
        self.words.get(pos).copied().unwrap_or(0)
    }

    /// The words where probes for these hashes start, combined: loading them ahead of
    /// the probes brings their cache lines in, with the misses overlapping.
    pub(crate) fn home_words(&self, hashes: &[u32]) -> u64 {
        if self.words.is_empty() {
            return 0;
        }
        hashes
            .iter()
            .fold(0, |seen, &h| seen ^ self.at(self.home(stored(h))))
    }

    /// Calls `f` with the row of each hash's entry that lies in the first words of its
    /// probe (those [`Index::home_words`] brought in); may name a row of another prefix
    /// with the same stored hash, and misses entries pushed further away.
    pub(crate) fn rows_near_home(&self, hashes: &[u32], mut f: impl FnMut(u32)) {
        if self.words.is_empty() {
            return;
        }
        let mask = self.mask();
        for &h in hashes {
            let s = stored(h);
            let mut pos = self.home(s);
            for _ in 0..NEAR_HOME {
                let w = self.at(pos);
                if w == 0 {
                    break;
                }
                if hash_of(w) == s {
                    f(row_of(w));
                    break;
                }
                pos = (pos + 1) & mask;
            }
        }
    }

    /// Looks for the entry of hash `h` whose row `is` accepts (`is` is asked only about
    /// rows whose stored hash matches).
    pub(crate) fn probe(&self, h: u32, is: impl Fn(u32) -> bool) -> Probe {
        if self.words.is_empty() {
            return Probe::Missing { pos: 0 };
        }
        let s = stored(h);
        let mask = self.mask();
        let mut pos = self.home(s);
        // At most every word once: the load factor keeps empty words, but a bound costs
        // nothing and keeps a damaged index from looping.
        for _ in 0..self.words.len() {
            let w = self.at(pos);
            if w == 0 {
                return Probe::Missing { pos };
            }
            if hash_of(w) == s && is(row_of(w)) {
                return Probe::Found {
                    pos,
                    row: row_of(w),
                };
            }
            pos = (pos + 1) & mask;
        }
        Probe::Missing { pos: usize::MAX }
    }

    /// Adds the entry (`h`, `row`) at `pos`, the position a [`Probe::Missing`] for `h`
    /// returned with no change to the index since; grows first if the index is full
    /// enough, and then finds the entry's place afresh.
    pub(crate) fn insert_at(&mut self, pos: usize, h: u32, row: u32) {
        let w = word(h, row);
        if (self.len + 1) * LOAD_DEN > self.words.len() * LOAD_NUM {
            self.grow();
            self.place(w);
        } else if let Some(slot) = self.words.get_mut(pos).filter(|s| **s == 0) {
            *slot = w;
        } else {
            self.place(w);
        }
        self.len += 1;
    }

    /// Changes the row number of the entry at `pos`.
    pub(crate) fn set_row(&mut self, pos: usize, row: u32) {
        if let Some(w) = self.words.get_mut(pos).filter(|w| **w != 0) {
            *w = (*w & !u64::from(u32::MAX)) | u64::from(row);
        }
    }

    /// Puts a word at the first empty position from its home (the index has room).
    fn place(&mut self, w: u64) {
        let mask = self.mask();
        let mut pos = self.home(hash_of(w));
        for _ in 0..self.words.len() {
            match self.words.get_mut(pos) {
                Some(slot) if *slot == 0 => {
                    *slot = w;
                    return;
                }
                _ => pos = (pos + 1) & mask,
            }
        }
    }

    /// Doubles the index (or makes the first one).
    fn grow(&mut self) {
        let bits = if self.words.is_empty() {
            MIN_BITS
        } else {
            (32 - self.shift + 1).min(32)
        };
        self.rebuild(bits, |_| true);
    }

    /// Moves the entries whose row `keep` accepts into a new index of `2^bits` words.
    /// Front to back: the words lie in hash order, so the writes go front to back too.
    fn rebuild(&mut self, bits: u32, keep: impl Fn(u32) -> bool) {
        let old = core::mem::replace(&mut self.words, vec![0; 1 << bits]);
        self.shift = 32 - bits;
        self.len = 0;
        for w in old.into_iter().filter(|&w| w != 0 && keep(row_of(w))) {
            self.place(w);
            self.len += 1;
        }
    }

    /// Keeps only the entries whose row `keep` accepts, in one pass over the index and
    /// without reading the rows: cheaper than one probe per removed entry once a large
    /// part goes (a peer with a full table going down). The index shrinks to fit.
    pub(crate) fn retain(&mut self, keep: impl Fn(u32) -> bool) {
        let kept = self
            .words
            .iter()
            .filter(|&&w| w != 0 && keep(row_of(w)))
            .count();
        if kept == 0 {
            *self = Index::default();
            return;
        }
        let mut bits = MIN_BITS;
        while kept * LOAD_DEN > (1usize << bits) * LOAD_NUM && bits < 32 {
            bits += 1;
        }
        self.rebuild(bits, keep);
    }

    /// Removes the entry at `pos` (from a [`Probe::Found`]), shifting back the entries
    /// after it whose probes passed through `pos`.
    pub(crate) fn remove_at(&mut self, pos: usize) {
        if self.at(pos) == 0 {
            return;
        }
        let mask = self.mask();
        let mut hole = pos;
        let mut next = pos;
        for _ in 0..self.words.len() {
            next = (next + 1) & mask;
            let w = self.at(next);
            if w == 0 {
                break;
            }
            // The entry at `next` may fill the hole when its home is not after the hole
            // (cyclically, between the hole and `next`).
            let home = self.home(hash_of(w));
            if next.wrapping_sub(home) & mask >= next.wrapping_sub(hole) & mask {
                if let Some(h) = self.words.get_mut(hole) {
                    *h = w;
                }
                hole = next;
            }
        }
        if let Some(h) = self.words.get_mut(hole) {
            *h = 0;
        }
        self.len -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// Finds `row` under `h` (rows are their own identity here).
    fn find(ix: &Index, h: u32, row: u32) -> Option<usize> {
        match ix.probe(h, |r| r == row) {
            Probe::Found { pos, row: r } => {
                assert_eq!(r, row);
                Some(pos)
            }
            Probe::Missing { .. } => None,
        }
    }

    fn insert(ix: &mut Index, h: u32, row: u32) {
        match ix.probe(h, |r| r == row) {
            Probe::Missing { pos } => ix.insert_at(pos, h, row),
            Probe::Found { .. } => panic!("{row} already in"),
        }
    }

    #[test]
    fn colliding_hashes_are_kept_apart_and_removal_keeps_the_rest_findable() {
        let mut ix = Index::default();
        // Same hash for all: one long run from one home.
        for row in 0..10 {
            insert(&mut ix, 0xdead_beef, row);
        }
        assert_eq!(ix.len(), 10);
        let pos = find(&ix, 0xdead_beef, 3).unwrap();
        ix.remove_at(pos);
        assert_eq!(find(&ix, 0xdead_beef, 3), None);
        for row in (0..10).filter(|&r| r != 3) {
            assert!(find(&ix, 0xdead_beef, row).is_some(), "row {row} lost");
        }
        assert_eq!(ix.len(), 9);
    }

    #[test]
    fn runs_that_wrap_around_the_end_survive_removal() {
        let mut ix = Index::default();
        // Homes at the last word of a 16-word index: the run wraps to the front.
        let h = u32::MAX;
        for row in 0..5 {
            insert(&mut ix, h, row);
        }
        // A hash whose home is the front, pushed back by the wrapped run.
        insert(&mut ix, 0, 100);
        for row in 0..5 {
            let pos = find(&ix, h, row).unwrap();
            ix.remove_at(pos);
            assert!(find(&ix, 0, 100).is_some());
            for other in row + 1..5 {
                assert!(find(&ix, h, other).is_some());
            }
        }
        assert_eq!(ix.len(), 1);
    }

    #[test]
    fn rows_near_home_names_the_rows_of_present_hashes() {
        let mut ix = Index::default();
        let hashes: Vec<u32> = (1..=8u32).map(|i| i.wrapping_mul(0x9e37_79b9)).collect();
        for (row, &h) in (100u32..).zip(&hashes[..6]) {
            insert(&mut ix, h, row);
        }
        let mut named = Vec::new();
        ix.rows_near_home(&hashes, |row| named.push(row));
        named.sort_unstable();
        // The six present hashes name their rows; the two absent ones name nothing.
        assert_eq!(named, (100..106).collect::<Vec<_>>());
        assert_ne!(ix.home_words(&hashes[..6]), 0);
        assert_eq!(Index::default().home_words(&hashes), 0);
    }

    #[test]
    fn set_row_changes_only_the_row() {
        let mut ix = Index::default();
        insert(&mut ix, 77, 1);
        let pos = find(&ix, 77, 1).unwrap();
        ix.set_row(pos, 9);
        assert_eq!(find(&ix, 77, 1), None);
        assert_eq!(find(&ix, 77, 9), Some(pos));
    }

    #[test]
    fn retain_keeps_the_accepted_rows_and_shrinks() {
        let mut ix = Index::default();
        for row in 0..1000u32 {
            insert(&mut ix, row.wrapping_mul(0x9e37_79b9), row);
        }
        let before = ix.allocation_size();
        ix.retain(|row| row % 10 == 0);
        assert_eq!(ix.len(), 100);
        assert!(ix.allocation_size() < before);
        for row in 0..1000u32 {
            let found = find(&ix, row.wrapping_mul(0x9e37_79b9), row).is_some();
            assert_eq!(found, row % 10 == 0, "row {row}");
        }
        ix.retain(|_| false);
        assert!(ix.is_empty());
        assert_eq!(ix.allocation_size(), 0);
    }

    proptest! {
        /// Any sequence of inserts and removals leaves the index agreeing with a map,
        /// through growth, collisions (hashes drawn from a small set) and wrap-around.
        #[test]
        fn index_agrees_with_a_map(ops in proptest::collection::vec(
            (any::<bool>(), 0u32..300, prop_oneof![Just(0u32), Just(u32::MAX), any::<u32>()]),
            0..600,
        )) {
            let mut ix = Index::default();
            let mut model: HashMap<u32, u32> = HashMap::new();
            for (add, row, h) in ops {
                // A row's hash is fixed by the first time it is seen.
                let h = *model.get(&row).unwrap_or(&h);
                if add {
                    if let std::collections::hash_map::Entry::Vacant(e) = model.entry(row) {
                        insert(&mut ix, h, row);
                        e.insert(h);
                    }
                } else if row % 50 == 7 {
                    // Now and then a bulk removal of one residue class.
                    let class = row % 3;
                    ix.retain(|r| r % 3 != class);
                    model.retain(|r, _| r % 3 != class);
                } else if let Some(pos) = find(&ix, h, row) {
                    ix.remove_at(pos);
                    model.remove(&row);
                }
                prop_assert_eq!(ix.len(), model.len());
            }
            for (&row, &h) in &model {
                prop_assert!(find(&ix, h, row).is_some(), "row {} lost", row);
            }
            prop_assert!(ix.len() * LOAD_DEN <= ix.words.len() * LOAD_NUM);
        }
    }
}
