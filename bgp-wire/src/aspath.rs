//! AS_PATH and AS4_PATH (RFC 4271 §4.3, §5.1.2; RFC 6793; RFC 5065).
//!
//! ```text
//! +------------------------------+
//! | segment type (1 octet)       |  1 AS_SET, 2 AS_SEQUENCE, 3 AS_CONFED_SEQUENCE, 4 AS_CONFED_SET
//! +------------------------------+
//! | segment length (1 octet)     |  number of ASes, not octets
//! +------------------------------+
//! | ASes (2 or 4 octets each)    |  width: 4 once both sides announced RFC 6793 support;
//! +------------------------------+         always 4 in AS4_PATH
//! ```

use bytes::{BufMut, BytesMut};
use core::fmt;

use crate::types::AS_TRANS;

/// AS path segment type.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum SegmentType {
    /// AS_SET (1): unordered.
    Set = 1,
    /// AS_SEQUENCE (2): ordered, nearest AS first.
    Sequence = 2,
    /// AS_CONFED_SEQUENCE (3, RFC 5065).
    ConfedSequence = 3,
    /// AS_CONFED_SET (4, RFC 5065).
    ConfedSet = 4,
}

impl SegmentType {
    /// From the wire code; `None` for codes RFC 7606 §7.2 calls malformed.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => SegmentType::Set,
            2 => SegmentType::Sequence,
            3 => SegmentType::ConfedSequence,
            4 => SegmentType::ConfedSet,
            _ => return None,
        })
    }

    /// Whether this is a confederation segment (RFC 5065).
    pub fn is_confed(self) -> bool {
        matches!(self, SegmentType::ConfedSequence | SegmentType::ConfedSet)
    }
}

/// How an AS path failed validation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum AsPathFault {
    Malformed,
}

/// What validation learned about a well-formed path.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct AsPathSummary {
    pub has_confed: bool,
}

/// Checks segments once (RFC 7606 §7.2): known type, non-zero length, no overrun, no lone
/// trailing octet.
pub(crate) fn validate(data: &[u8], four_octet: bool) -> Result<AsPathSummary, AsPathFault> {
    let width = if four_octet { 4 } else { 2 };
    let mut summary = AsPathSummary::default();
    let mut rest = data;
    while let Some((header, body)) = rest.split_first_chunk::<2>() {
        let kind = SegmentType::from_code(header[0]).ok_or(AsPathFault::Malformed)?;
        let count = usize::from(header[1]);
        if count == 0 {
            return Err(AsPathFault::Malformed);
        }
        summary.has_confed |= kind.is_confed();
        rest = body.get(count * width..).ok_or(AsPathFault::Malformed)?;
    }
    if rest.is_empty() {
        Ok(summary)
    } else {
        Err(AsPathFault::Malformed)
    }
}

/// A validated AS path on the wire. Accessors cannot fail.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AsPathRef<'a> {
    data: &'a [u8],
    four_octet: bool,
}

impl<'a> AsPathRef<'a> {
    pub(crate) fn new(data: &'a [u8], four_octet: bool) -> Self {
        AsPathRef { data, four_octet }
    }

    /// The segments in wire order.
    pub fn segments(&self) -> SegmentIter<'a> {
        SegmentIter {
            data: self.data,
            four_octet: self.four_octet,
        }
    }

    /// Every AS number in wire order, across segments.
    pub fn asns(&self) -> impl Iterator<Item = u32> + 'a {
        self.segments().flat_map(|s| s.asns())
    }

    /// Path length for best-path selection (RFC 4271 §9.1.2.2 a): an AS_SET counts as one,
    /// confederation segments count as zero (RFC 5065 §5.3).
    pub fn path_len(&self) -> usize {
        self.segments()
            .map(|s| match s.kind {
                SegmentType::Sequence => s.len(),
                SegmentType::Set => 1,
                _ => 0,
            })
            .sum()
    }

    /// The first AS of the first AS_SEQUENCE, i.e. the neighbouring AS (RFC 4271 §9.1.2.2 c).
    pub fn first_as(&self) -> Option<u32> {
        let first = self.segments().next()?;
        if first.kind == SegmentType::Sequence {
            first.asns().next()
        } else {
            None
        }
    }

    /// Whether `asn` appears anywhere (loop detection, RFC 4271 §9.1.2).
    pub fn contains(&self, asn: u32) -> bool {
        self.asns().any(|a| a == asn)
    }

    /// Number of times `asn` appears (for allowas-in).
    pub fn count(&self, asn: u32) -> usize {
        self.asns().filter(|&a| a == asn).count()
    }

    /// The raw attribute value.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.data
    }

    /// Whether AS numbers are 4 octets wide here.
    pub fn is_four_octet(&self) -> bool {
        self.four_octet
    }

    /// Owned copy.
    pub fn to_owned(&self) -> AsPath {
        AsPath {
            segments: self
                .segments()
                .map(|s| Segment {
                    kind: s.kind,
                    asns: s.asns().collect(),
                })
                .collect(),
        }
    }
}

impl fmt::Debug for AsPathRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_owned(), f)
    }
}

/// Iterator over segments.
#[derive(Clone, Debug)]
pub struct SegmentIter<'a> {
    data: &'a [u8],
    four_octet: bool,
}

impl<'a> Iterator for SegmentIter<'a> {
    type Item = SegmentRef<'a>;

    fn next(&mut self) -> Option<SegmentRef<'a>> {
        let (header, body) = self.data.split_first_chunk::<2>()?;
        let kind = SegmentType::from_code(header[0])?;
        let width = if self.four_octet { 4 } else { 2 };
        let n = usize::from(header[1]) * width;
        let asns = body.get(..n)?;
        self.data = body.get(n..)?;
        Some(SegmentRef {
            kind,
            data: asns,
            four_octet: self.four_octet,
        })
    }
}

/// One segment of a validated path.
#[derive(Clone, Copy, Debug)]
pub struct SegmentRef<'a> {
    /// Segment type.
    pub kind: SegmentType,
    data: &'a [u8],
    four_octet: bool,
}

impl<'a> SegmentRef<'a> {
    /// Number of AS numbers in the segment.
    pub fn len(&self) -> usize {
        self.data.len() / if self.four_octet { 4 } else { 2 }
    }

    /// Whether the segment is empty (never true for a validated path).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The AS numbers.
    pub fn asns(&self) -> AsnIter<'a> {
        AsnIter {
            data: self.data,
            four_octet: self.four_octet,
        }
    }
}

/// Iterator over the AS numbers of a segment.
#[derive(Clone, Debug)]
pub struct AsnIter<'a> {
    data: &'a [u8],
    four_octet: bool,
}

impl Iterator for AsnIter<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        if self.four_octet {
            let (a, rest) = self.data.split_first_chunk::<4>()?;
            self.data = rest;
            Some(u32::from_be_bytes(*a))
        } else {
            let (a, rest) = self.data.split_first_chunk::<2>()?;
            self.data = rest;
            Some(u32::from(u16::from_be_bytes(*a)))
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.data.len() / if self.four_octet { 4 } else { 2 };
        (n, Some(n))
    }
}

impl ExactSizeIterator for AsnIter<'_> {}

/// One owned segment.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Segment {
    /// Segment type.
    pub kind: SegmentType,
    /// AS numbers (1..=255 per segment on the wire; longer runs are split when encoding).
    pub asns: Vec<u32>,
}

/// An owned AS path.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct AsPath {
    /// Segments in wire order.
    pub segments: Vec<Segment>,
}

impl AsPath {
    /// A path of one AS_SEQUENCE.
    pub fn sequence(asns: impl IntoIterator<Item = u32>) -> Self {
        let asns: Vec<u32> = asns.into_iter().collect();
        if asns.is_empty() {
            return AsPath::default();
        }
        AsPath {
            segments: vec![Segment {
                kind: SegmentType::Sequence,
                asns,
            }],
        }
    }

    /// Path length for best-path selection: AS_SET counts one, confederation segments zero.
    pub fn path_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s.kind {
                SegmentType::Sequence => s.asns.len(),
                SegmentType::Set => 1,
                _ => 0,
            })
            .sum()
    }

    /// The neighbouring AS: first AS of a leading AS_SEQUENCE.
    pub fn first_as(&self) -> Option<u32> {
        let first = self.segments.first()?;
        if first.kind == SegmentType::Sequence {
            first.asns.first().copied()
        } else {
            None
        }
    }

    /// Whether `asn` appears anywhere.
    pub fn contains(&self, asn: u32) -> bool {
        self.segments.iter().any(|s| s.asns.contains(&asn))
    }

    /// Whether any AS number needs 4 octets.
    pub fn has_four_octet_asn(&self) -> bool {
        self.segments
            .iter()
            .any(|s| s.asns.iter().any(|&a| a > 0xffff))
    }

    /// Prepends `asn` `times` times to the leading AS_SEQUENCE (RFC 4271 §5.1.2), opening
    /// a new one if the path starts with anything else or the segment is full.
    pub fn prepend(&mut self, asn: u32, times: usize) {
        for _ in 0..times {
            match self.segments.first_mut() {
                Some(s) if s.kind == SegmentType::Sequence && s.asns.len() < 255 => {
                    s.asns.insert(0, asn)
                }
                _ => self.segments.insert(
                    0,
                    Segment {
                        kind: SegmentType::Sequence,
                        asns: vec![asn],
                    },
                ),
            }
        }
    }

    /// For a 2-octet session (RFC 6793 §4.2.2): the AS_PATH with every AS above 65535
    /// replaced by AS_TRANS, and the AS4_PATH to send beside it (`None` when no AS needs 4
    /// octets). Confederation segments are left out of AS4_PATH, as RFC 6793 §3 requires.
    pub fn split_for_two_octet(&self) -> (AsPath, Option<AsPath>) {
        if !self.has_four_octet_asn() {
            return (self.clone(), None);
        }
        let two = AsPath {
            segments: self
                .segments
                .iter()
                .map(|s| Segment {
                    kind: s.kind,
                    asns: s
                        .asns
                        .iter()
                        .map(|&a| if a > 0xffff { AS_TRANS } else { a })
                        .collect(),
                })
                .collect(),
        };
        let four = AsPath {
            segments: self
                .segments
                .iter()
                .filter(|s| !s.kind.is_confed())
                .cloned()
                .collect(),
        };
        (two, Some(four))
    }

    /// Reconstructs the path from AS_PATH and AS4_PATH received from a 2-octet speaker
    /// (RFC 6793 §4.2.3).
    ///
    /// If AS_PATH holds fewer AS numbers than AS4_PATH, AS4_PATH is ignored. Otherwise the
    /// leading AS numbers of AS_PATH beyond AS4_PATH's count are prepended to AS4_PATH.
    /// Counting follows RFC 4271 §9.1.2.2: an AS_SET counts one; confederation segments
    /// count zero and are carried over when they lead. The caller must already have ignored
    /// AS4_PATH when AGGREGATOR holds a real 2-octet AS (RFC 6793 §4.2.3 first rule); see
    /// [`merge_as4`](crate::attributes::merge_as4).
    pub fn merge_as4_path(as_path: &AsPath, as4_path: &AsPath) -> AsPath {
        let total = as_path.path_len();
        let four = as4_path.path_len();
        if total < four {
            return as_path.clone();
        }
        let mut need = total - four;
        let mut out = Vec::new();
        for seg in &as_path.segments {
            if need == 0 {
                break;
            }
            match seg.kind {
                SegmentType::Sequence => {
                    let take = need.min(seg.asns.len());
                    out.push(Segment {
                        kind: seg.kind,
                        asns: seg.asns.get(..take).unwrap_or(&[]).to_vec(),
                    });
                    need -= take;
                }
                SegmentType::Set => {
                    out.push(seg.clone());
                    need -= 1;
                }
                SegmentType::ConfedSequence | SegmentType::ConfedSet => out.push(seg.clone()),
            }
        }
        // Join a trailing partial AS_SEQUENCE with a leading AS4_PATH AS_SEQUENCE so the
        // result is what the 4-octet speaker would have sent.
        let mut rest = as4_path.segments.iter().cloned();
        if let (Some(last), Some(first)) = (out.last_mut(), as4_path.segments.first())
            && last.kind == SegmentType::Sequence
            && first.kind == SegmentType::Sequence
            && last.asns.len() + first.asns.len() <= 255
        {
            last.asns.extend_from_slice(&first.asns);
            rest.next();
        }
        out.extend(rest);
        AsPath { segments: out }
    }

    /// Octets of the encoded value for the given AS width.
    pub fn encoded_len(&self, four_octet: bool) -> usize {
        let width = if four_octet { 4 } else { 2 };
        self.segments
            .iter()
            .map(|s| {
                let chunks = s.asns.len().div_ceil(255).max(1);
                chunks * 2 + s.asns.len() * width
            })
            .sum()
    }

    /// Appends the encoded value. Segments longer than 255 ASes are split; in 2-octet form
    /// an AS above 65535 is written as AS_TRANS (RFC 6793 §4.2.2).
    pub fn encode(&self, four_octet: bool, out: &mut BytesMut) {
        for s in &self.segments {
            if s.asns.is_empty() {
                out.put_u8(s.kind as u8);
                out.put_u8(0);
                continue;
            }
            for chunk in s.asns.chunks(255) {
                out.put_u8(s.kind as u8);
                out.put_u8(chunk.len() as u8);
                for &a in chunk {
                    if four_octet {
                        out.put_u32(a);
                    } else {
                        out.put_u16(u16::try_from(a).unwrap_or(AS_TRANS as u16));
                    }
                }
            }
        }
    }
}

impl fmt::Display for AsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.segments {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            let (open, close) = match s.kind {
                SegmentType::Sequence => ("", ""),
                SegmentType::Set => ("{", "}"),
                SegmentType::ConfedSequence => ("(", ")"),
                SegmentType::ConfedSet => ("[", "]"),
            };
            f.write_str(open)?;
            for (i, a) in s.asns.iter().enumerate() {
                if i > 0 {
                    f.write_str(if open.is_empty() { " " } else { "," })?;
                }
                write!(f, "{a}")?;
            }
            f.write_str(close)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(a: &[u32]) -> Segment {
        Segment {
            kind: SegmentType::Sequence,
            asns: a.to_vec(),
        }
    }

    #[test]
    fn validation_follows_rfc7606_7_2() {
        assert!(validate(&[2, 2, 0, 1, 0, 2], false).is_ok());
        assert!(validate(&[], false).is_ok());
        assert_eq!(
            validate(&[5, 1, 0, 1], false).unwrap_err(),
            AsPathFault::Malformed
        ); // type
        assert_eq!(
            validate(&[2, 0], false).unwrap_err(),
            AsPathFault::Malformed
        ); // zero length
        assert_eq!(
            validate(&[2, 2, 0, 1], false).unwrap_err(),
            AsPathFault::Malformed
        ); // overrun
        assert_eq!(
            validate(&[2, 1, 0, 1, 2], false).unwrap_err(),
            AsPathFault::Malformed
        ); // lone octet
        assert!(validate(&[3, 1, 0, 0, 0, 1], true).unwrap().has_confed);
    }

    #[test]
    fn view_counts_like_best_path() {
        let data = [
            2, 2, 0, 0, 0xfd, 0xe8, 0, 0, 0xfd, 0xe9, 1, 2, 0, 0, 0, 1, 0, 0, 0, 2, 3, 1, 0, 0, 0,
            9,
        ];
        let p = AsPathRef::new(&data, true);
        assert_eq!(p.path_len(), 3);
        assert_eq!(p.first_as(), Some(65000));
        assert!(p.contains(9));
        assert_eq!(p.to_owned().to_string(), "65000 65001 {1,2} (9)");
    }

    #[test]
    fn two_octet_split_and_merge_round_trip() {
        let full = AsPath {
            segments: vec![seq(&[65001, 4_200_000_001, 65002])],
        };
        let (two, four) = full.split_for_two_octet();
        assert_eq!(two.segments[0].asns, vec![65001, AS_TRANS, 65002]);
        let four = four.unwrap();
        // A 2-octet speaker in between prepended itself.
        let mut received = two.clone();
        received.prepend(64999, 1);
        let merged = AsPath::merge_as4_path(&received, &four);
        assert_eq!(
            merged.segments,
            vec![seq(&[64999, 65001, 4_200_000_001, 65002])]
        );
    }

    #[test]
    fn merge_ignores_longer_as4_path() {
        let as_path = AsPath::sequence([1]);
        let as4 = AsPath::sequence([1, 2]);
        assert_eq!(AsPath::merge_as4_path(&as_path, &as4), as_path);
    }

    #[test]
    fn encode_splits_long_segments() {
        let p = AsPath::sequence((0..300).map(|i| i + 1));
        let mut out = BytesMut::new();
        p.encode(true, &mut out);
        assert_eq!(out.len(), p.encoded_len(true));
        assert_eq!(out.len(), 2 + 255 * 4 + 2 + 45 * 4);
        let view = AsPathRef::new(&out, true);
        assert_eq!(view.path_len(), 300);
    }

    #[test]
    fn prepend_opens_sequence_when_needed() {
        let mut p = AsPath {
            segments: vec![Segment {
                kind: SegmentType::Set,
                asns: vec![5],
            }],
        };
        p.prepend(7, 2);
        assert_eq!(p.to_string(), "7 7 {5}");
    }
}
