//! Small shared pieces for the attribute sets: value parsers with the
//! length checks the kernel data must pass, and nested-list encoding.

use netlink_packet_core::{
    parse_u16, parse_u16_be, parse_u32, parse_u64, parse_u8, DecodeError, Emitable, ErrorContext,
    Nla, NlaBuffer, NlasIterator, NLA_ALIGNTO, NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_HEADER_SIZE,
    NLA_TYPE_MASK,
};

/// Length of a nested list of attributes, padding included.
pub(crate) fn nested_len<T: Nla>(nlas: &[T]) -> usize {
    nlas.iter().map(Emitable::buffer_len).sum()
}

/// Emits a nested list of attributes into `buf`, which is exactly `nested_len` long.
pub(crate) fn emit_nested<T: Nla>(nlas: &[T], buf: &mut [u8]) {
    let mut at = 0;
    for nla in nlas {
        at += emit_one(nla, &mut buf[at..]);
    }
}

/// Emits one attribute at the start of `buf` and returns its length with padding: the
/// bytes netlink-packet-core's `Emitable::emit` writes, but with `value_len` asked once
/// (that `emit` asks it three times and `buffer_len` twice more; for a nest, each time
/// walks the nested attributes again).
pub(crate) fn emit_one<T: Nla>(nla: &T, buf: &mut [u8]) -> usize {
    let (len, padded) = emit_sized(nla, nla.value_len(), buf);
    buf[len..padded].fill(0);
    padded
}

/// Writes the header and value of an attribute whose value is `value_len` bytes at the start
/// of `buf`, not the padding. Returns its length without and with padding.
#[inline(always)]
fn emit_sized<T: Nla>(nla: &T, value_len: usize, buf: &mut [u8]) -> (usize, usize) {
    let len = NLA_HEADER_SIZE + value_len;
    let padded = (len + NLA_ALIGNTO - 1) & !(NLA_ALIGNTO - 1);
    let mut kind = nla.kind() & NLA_TYPE_MASK;
    if nla.is_network_byteorder() {
        kind |= NLA_F_NET_BYTEORDER;
    }
    if nla.is_nested() {
        kind |= NLA_F_NESTED;
    }
    buf[..2].copy_from_slice(&(len as u16).to_ne_bytes());
    buf[2..4].copy_from_slice(&kind.to_ne_bytes());
    nla.emit_value(&mut buf[NLA_HEADER_SIZE..len]);
    (len, padded)
}

/// Appends one attribute to `out`, padded, as [`emit_one`] writes it.
#[inline(always)]
pub(crate) fn push_one<T: Nla>(out: &mut Vec<u8>, nla: &T) {
    const SMALL: usize = 32;
    let value_len = nla.value_len();
    let at = out.len();
    if NLA_HEADER_SIZE + value_len <= SMALL {
        // Most attributes of a request take 8 to 20 bytes. Made in a zeroed block on the stack
        // (padding included) and appended as a whole block, then cut to length: copies of a
        // constant size, where growing `out` by a variable length costs a memset or memcpy call.
        let mut small = [0u8; SMALL];
        let (_, padded) = emit_sized(nla, value_len, &mut small);
        out.extend_from_slice(&small);
        out.truncate(at + padded);
    } else {
        out.resize(at + NLA_HEADER_SIZE + value_len + NLA_ALIGNTO, 0);
        let (_, padded) = emit_sized(nla, value_len, &mut out[at..]);
        out.truncate(at + padded);
    }
}

/// Parses every attribute of `payload` with `parse_one`, failing on the first bad one.
pub(crate) fn parse_nested<T>(
    payload: &[u8],
    what: &str,
    mut parse_one: impl FnMut(&NlaBuffer<&[u8]>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    // Attributes of a value take at least 8 bytes with header and padding: one allocation.
    let mut out = Vec::with_capacity(payload.len() / 8);
    for nla in NlasIterator::new(payload) {
        let nla = nla.map_err(|e| DecodeError::from(format!("malformed {what} attribute: {e}")))?;
        out.push(parse_one(&nla)?);
    }
    Ok(out)
}

/// The attributes of a nest as (number without flag bits, value), borrowed from the buffer:
/// the listings' decoders walk with this, not with netlink-packet-core's `NlasIterator`, which
/// gives the same items with the same checks but, measured with callgrind on 20,000 kernel
/// destination replies (`examples/decode_cost.rs`), cost 140 instructions an attribute (it
/// reads each header field several times through checked parsers): 58% of the decoding.
/// A damaged attribute is an error, and the walk ends after it.
#[derive(Debug, Clone)]
pub(crate) struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Attrs<'a> {
    pub(crate) fn new(nest: &'a [u8]) -> Self {
        Attrs { rest: nest }
    }

    /// What is left to walk: the bytes after the attributes taken so far (their padding
    /// included; empty after a damaged one, or after one cut in its padding).
    #[inline(always)]
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// The next attribute, `None` at the end of the nest, or the error of a damaged one
    /// (after which the walk is at its end).
    #[inline(always)]
    pub(crate) fn next_attr(&mut self) -> Result<Option<(u16, &'a [u8])>, DecodeError> {
        let buf = self.rest;
        let [l0, l1, t0, t1, ..] = *buf else {
            if buf.is_empty() {
                return Ok(None);
            }
            self.rest = &[];
            return Err(short_header(buf.len()));
        };
        let len = usize::from(u16::from_ne_bytes([l0, l1]));
        match buf.get(NLA_HEADER_SIZE..len) {
            Some(value) => {
                let kind = u16::from_ne_bytes([t0, t1]) & NLA_TYPE_MASK;
                let padded = (len + NLA_ALIGNTO - 1) & !(NLA_ALIGNTO - 1);
                self.rest = buf.get(padded..).unwrap_or(&[]);
                Ok(Some((kind, value)))
            }
            None => {
                self.rest = &[];
                Err(bad_length(len, buf.len()))
            }
        }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<(u16, &'a [u8]), DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.next_attr().transpose()
    }
}

#[cold]
#[inline(never)]
fn short_header(left: usize) -> DecodeError {
    DecodeError::from(format!("{left} bytes left, less than an attribute header"))
}

#[cold]
#[inline(never)]
fn bad_length(len: usize, left: usize) -> DecodeError {
    DecodeError::from(format!(
        "attribute length {len} outside {NLA_HEADER_SIZE}..={left}"
    ))
}

/// What the listings' decoders check of a value as they walk a nest ([`gather`]): the checks
/// of the value's reader, so that a value passes here exactly when its reader takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Not looked into: padding, a kind this crate does not decode in that nest, or a nest
    /// checked when it is read.
    Any,
    /// A number of exactly this many bytes ([`u8_of`], [`u16_of`], [`be16_of`], [`u32_of`],
    /// [`u64_of`]).
    Exact(u8),
    /// An address ([`addr_of`]): at most 16 bytes.
    Addr,
    /// A string ([`str_of`]) of at most this many bytes, NUL included.
    Text(u8),
    /// `struct ip_vs_flags` ([`flags_of`](crate::service::flags_of)): 8 bytes.
    Flags,
}

impl Shape {
    /// The lengths the value's reader takes, and whether it must be a string.
    const fn lengths(self) -> (u16, u16, bool) {
        match self {
            Shape::Any => (0, u16::MAX, false),
            Shape::Exact(n) => (n as u16, n as u16, false),
            Shape::Addr => (0, 16, false),
            Shape::Text(max) => (0, max as u16, true),
            Shape::Flags => (8, 8, false),
        }
    }

    /// The error of the value's reader for a value it refuses.
    #[cold]
    #[inline(never)]
    fn refusal(self, v: &[u8], name: &str) -> DecodeError {
        let refused = match self {
            Shape::Exact(1) => u8_of(v, name).err(),
            Shape::Exact(2) => u16_of(v, name).err(),
            Shape::Exact(4) => u32_of(v, name).err(),
            Shape::Exact(8) => u64_of(v, name).err(),
            Shape::Addr => addr_of(v, name).err(),
            Shape::Text(max) => str_of(v, usize::from(max), name).err(),
            Shape::Flags => crate::service::flags_of(v, name).err(),
            Shape::Exact(_) | Shape::Any => None,
        };
        // Not reached: `Rule::fits` refuses only what the reader refuses.
        refused.unwrap_or_else(|| DecodeError::from(format!("{name}: {} bytes", v.len())))
    }
}

/// One attribute kind of a nest as [`gather`] checks it: its shape, the lengths the shape
/// takes (worked out once, here), and its name for errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    pub(crate) shape: Shape,
    low: u16,
    span: u16,
    text: bool,
    name: &'static str,
}

impl Rule {
    /// A kind of `shape` called `name`.
    pub(crate) const fn new(shape: Shape, name: &'static str) -> Self {
        let (low, high, text) = shape.lengths();
        Rule {
            shape,
            low,
            span: high - low,
            text,
            name,
        }
    }

    /// A kind not looked into.
    pub(crate) const ANY: Rule = Rule::new(Shape::Any, "");

    /// Whether the value's reader takes `v`: its length in range (one comparison), and a string
    /// one valid up to its NUL.
    #[inline(always)]
    pub(crate) fn fits(&self, v: &[u8]) -> bool {
        // A value is at most 65,531 bytes (the attribute's length is a u16).
        let in_range = (v.len() as u16).wrapping_sub(self.low) <= self.span;
        in_range && (!self.text || str_of(v, usize::from(self.span), "").is_ok())
    }
}

/// The attribute kinds of one nest, by number. Numbers at or past its end are not looked into.
pub(crate) type Schema<const N: usize> = [Rule; N];

/// Puts the values of `nest` in `slots` by attribute number (the last of a number wins, as
/// with the readers of the attribute enums), each checked in the nest's order as its reader
/// checks it: the first damaged attribute (its framing, or a value its reader refuses) is the
/// error, the one that reader gives, whatever follows. The decoders then read the values they
/// want from the slots, their lengths known. One pass over the attributes, about 25
/// instructions each, where a `match` per attribute that kept a dozen optional values live
/// took about 60 (callgrind on `examples/decode_cost.rs`, BENCHMARKS.md, speed-decode).
#[inline(always)]
pub(crate) fn gather<'a, const N: usize>(
    nest: &'a [u8],
    schema: &Schema<N>,
    what: &str,
    slots: &mut [Option<&'a [u8]>; N],
) -> Result<(), DecodeError> {
    let mut attrs = Attrs::new(nest);
    loop {
        let (kind, v) = match attrs.next_attr() {
            Ok(Some(a)) => a,
            Ok(None) => return Ok(()),
            Err(e) => return Err(malformed(what, e)),
        };
        let k = usize::from(kind);
        if let (Some(rule), Some(slot)) = (schema.get(k), slots.get_mut(k)) {
            if !rule.fits(v) {
                return Err(rule.shape.refusal(v, rule.name));
            }
            *slot = Some(v);
        }
    }
}

/// The attributes a kernel puts first in a nest, in its order, each as (kind, value length):
/// with their offsets and header words worked out once (`Layout::new`, at compile time).
#[derive(Debug)]
pub(crate) struct Layout<const M: usize> {
    /// Each attribute's header as it reads in memory: its length, then its kind.
    words: [u32; M],
    /// Where each attribute starts in the nest.
    at: [usize; M],
    kinds: [u16; M],
    lens: [usize; M],
    /// Where the last one ends, padding included.
    end: usize,
}

impl<const M: usize> Layout<M> {
    pub(crate) const fn new(attrs: [(u16, u16); M]) -> Self {
        let mut l = Layout {
            words: [0; M],
            at: [0; M],
            kinds: [0; M],
            lens: [0; M],
            end: 0,
        };
        let mut i = 0;
        while i < M {
            let (kind, value) = attrs[i];
            let len = NLA_HEADER_SIZE as u16 + value;
            let (a, b) = (len.to_ne_bytes(), kind.to_ne_bytes());
            l.words[i] = u32::from_ne_bytes([a[0], a[1], b[0], b[1]]);
            l.at[i] = l.end;
            l.kinds[i] = kind;
            l.lens[i] = value as usize;
            l.end += (len as usize + NLA_ALIGNTO - 1) & !(NLA_ALIGNTO - 1);
            i += 1;
        }
        l
    }

    /// The value of `kind` in a nest that starts as this layout says (its length the layout's),
    /// or `None` for a kind not in it. Called with a constant kind, it folds to a slice of
    /// constant place and length.
    #[inline(always)]
    pub(crate) fn value_in<'a>(&self, nest: &'a [u8], kind: u16) -> Option<&'a [u8]> {
        let mut i = 0;
        while i < M {
            if self.kinds[i] == kind {
                return nest.get(self.place(i));
            }
            i += 1;
        }
        None
    }

    /// Where the value of the layout's `i`th attribute lies in a nest that starts as it says.
    #[inline(always)]
    fn place(&self, i: usize) -> std::ops::Range<usize> {
        let at = self.at[i] + NLA_HEADER_SIZE;
        at..at + self.lens[i]
    }

    /// Where the last attribute of the layout ends, padding included.
    pub(crate) const fn end(&self) -> usize {
        self.end
    }

    /// Whether `nest` starts with these attributes, each header where it is expected.
    #[inline(always)]
    pub(crate) fn starts(&self, nest: &[u8]) -> bool {
        nest.get(..self.end)
            .is_some_and(|prefix| matches(prefix, self, u32::MAX))
    }

    /// [`Layout::starts`], but each header's kind taken without its nested and byte-order flag
    /// bits, as the walk takes it (for nests not looked into here, which encoders such as this
    /// crate's mark nested and the kernel's `nla_nest_start_noflag` does not).
    #[inline(always)]
    pub(crate) fn starts_without_flags(&self, nest: &[u8]) -> bool {
        let [k0, k1] = NLA_TYPE_MASK.to_ne_bytes();
        let mask = u32::from_ne_bytes([0xff, 0xff, k0, k1]);
        nest.get(..self.end)
            .is_some_and(|prefix| matches(prefix, self, mask))
    }

    /// Why a prefix matched could hold a value `schema` refuses, if it could: a kind past the
    /// schema, a string (its text must be checked), or a length its reader does not take.
    #[cfg(test)]
    pub(crate) fn unsound_with<const N: usize>(&self, schema: &Schema<N>) -> Option<String> {
        for (&kind, &len) in self.kinds.iter().zip(&self.lens) {
            let Some(rule) = schema.get(usize::from(kind)) else {
                return Some(format!("kind {kind} is past the schema"));
            };
            if rule.text || rule.shape == Shape::Any || !rule.fits(&vec![0; len]) {
                return Some(format!("kind {kind}: {:?} for {len} bytes", rule.shape));
            }
        }
        None
    }
}

/// [`gather`] for a nest that usually starts as `layout` says (a listing's replies, from one
/// kernel, all do): when every header of that prefix is the expected one, word for word, its
/// values are taken from their known places, and only the rest is walked. Otherwise the whole
/// nest is walked. Same slots and same errors either way: a prefix matched has only values
/// whose readers take them (tests hold each layout to its schema), and what follows is walked
/// as before, a later attribute of the same kind replacing an earlier one. The walk cost about
/// 45 instructions an attribute in a real listing (tests/perf/profile); a header checked where
/// it is expected costs about 4.
#[inline(always)]
pub(crate) fn gather_known<'a, const N: usize, const M: usize>(
    nest: &'a [u8],
    layout: &Layout<M>,
    schema: &Schema<N>,
    what: &str,
    slots: &mut [Option<&'a [u8]>; N],
) -> Result<(), DecodeError> {
    let rest = if layout.starts(nest) {
        for i in 0..M {
            if let (Some(slot), Some(value)) = (
                slots.get_mut(usize::from(layout.kinds[i])),
                nest.get(layout.place(i)),
            ) {
                *slot = Some(value);
            }
        }
        nest.get(layout.end..).unwrap_or(&[])
    } else {
        nest
    };
    gather(rest, schema, what, slots)
}

/// Whether each header of `layout` is where it says, as it says, in the bits of `mask` (a
/// header is one word: its length, then its kind). Always inlined: a mask of all ones folds
/// to a plain compare.
#[inline(always)]
fn matches<const M: usize>(prefix: &[u8], layout: &Layout<M>, mask: u32) -> bool {
    let mut same = true;
    for i in 0..M {
        let at = layout.at[i];
        let word = match prefix.get(at..at + 4) {
            Some(&[a, b, c, d]) => u32::from_ne_bytes([a, b, c, d]),
            _ => return false,
        };
        // No branch per header: they all match in a listing.
        same &= (word ^ layout.words[i]) & mask == 0;
    }
    same
}

/// A damaged attribute of the nest `what`, as the listings' decoders report it.
#[cold]
#[inline(never)]
pub(crate) fn malformed(what: &str, e: DecodeError) -> DecodeError {
    DecodeError::from(format!("malformed {what} attribute: {e}"))
}

/// A slot's value as `K` bytes, when it is there with that length (a [`gather`]ed value of a
/// [`Shape::Exact`]`(K)` kind always has it).
#[inline(always)]
pub(crate) fn bytes<const K: usize>(v: Option<&[u8]>) -> Option<[u8; K]> {
    v.and_then(|v| <[u8; K]>::try_from(v).ok())
}

/// The attribute number without the nested and byte-order flag bits.
pub(crate) fn kind(nla: &NlaBuffer<&[u8]>) -> u16 {
    nla.kind() & NLA_TYPE_MASK
}

// Fixed-size values: the length checked once, inline, and the value read from the array it
// gives; a value of the wrong length goes to netlink-packet-core's parser (`parse_u32` and the
// others: exact length, native or network byte order) for its error, with the attribute's name
// added. The core's parsers are not `#[inline]`: called for every value, each was a call
// returning a `Result` through memory, which made most of the listings' decoding (measured with
// callgrind on `examples/decode_cost.rs`, BENCHMARKS.md, speed-decode). Same values, same errors.
#[inline(always)]
pub(crate) fn u8_of(v: &[u8], what: &str) -> Result<u8, DecodeError> {
    match v {
        [b] => Ok(*b),
        _ => Err(refused(parse_u8, v, what)),
    }
}
#[inline(always)]
pub(crate) fn u16_of(v: &[u8], what: &str) -> Result<u16, DecodeError> {
    match <[u8; 2]>::try_from(v) {
        Ok(b) => Ok(u16::from_ne_bytes(b)),
        Err(_) => Err(refused(parse_u16, v, what)),
    }
}
#[inline(always)]
pub(crate) fn be16_of(v: &[u8], what: &str) -> Result<u16, DecodeError> {
    match <[u8; 2]>::try_from(v) {
        Ok(b) => Ok(u16::from_be_bytes(b)),
        Err(_) => Err(refused(parse_u16_be, v, what)),
    }
}
#[inline(always)]
pub(crate) fn u32_of(v: &[u8], what: &str) -> Result<u32, DecodeError> {
    match <[u8; 4]>::try_from(v) {
        Ok(b) => Ok(u32::from_ne_bytes(b)),
        Err(_) => Err(refused(parse_u32, v, what)),
    }
}
#[inline(always)]
pub(crate) fn u64_of(v: &[u8], what: &str) -> Result<u64, DecodeError> {
    match <[u8; 8]>::try_from(v) {
        Ok(b) => Ok(u64::from_ne_bytes(b)),
        Err(_) => Err(refused(parse_u64, v, what)),
    }
}

/// The error of a fixed-size value its reader refused: netlink-packet-core's parser's, with
/// the attribute's name. Out of line and cold: no reply the kernel sends takes this path.
#[cold]
#[inline(never)]
fn refused<T>(parse: fn(&[u8]) -> Result<T, DecodeError>, v: &[u8], what: &str) -> DecodeError {
    match parse(v).context(what) {
        Err(e) => e,
        // Not reached: the readers come here only for a length the parser refuses too.
        Ok(_) => DecodeError::from(format!("{what}: {} bytes", v.len())),
    }
}

/// A NUL-terminated string of at most `max` bytes, NUL included. Not the core crate's
/// `parse_string`, which has no length limit and keeps what follows an inner NUL.
pub(crate) fn string_of(v: &[u8], max: usize, what: &str) -> Result<String, DecodeError> {
    str_of(v, max, what).map(String::from)
}

/// [`string_of`], borrowed from the buffer.
#[inline]
pub(crate) fn str_of<'a>(v: &'a [u8], max: usize, what: &str) -> Result<&'a str, DecodeError> {
    if v.len() > max {
        return Err(DecodeError::from(format!(
            "{what}: {} bytes, more than the {max} allowed",
            v.len()
        )));
    }
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    std::str::from_utf8(&v[..end]).map_err(|e| DecodeError::from(format!("{what}: {e}")))
}

/// An address attribute: up to 16 bytes, zero-padded as the kernel's `nla_memcpy` does (the
/// core crate's `parse_ip`/`parse_ipv6` take exactly 4 or 16).
pub(crate) fn addr_of(v: &[u8], what: &str) -> Result<[u8; 16], DecodeError> {
    if v.len() > 16 {
        return Err(DecodeError::from(format!(
            "{what}: {} bytes, more than 16",
            v.len()
        )));
    }
    let mut a = [0u8; 16];
    a[..v.len()].copy_from_slice(v);
    Ok(a)
}

/// Bytes of a NUL-terminated string attribute value.
pub(crate) fn cstr_len(s: &str) -> usize {
    s.len() + 1
}
pub(crate) fn emit_cstr(s: &str, buf: &mut [u8]) {
    buf[..s.len()].copy_from_slice(s.as_bytes());
    buf[s.len()] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(bytes: &[u8]) -> Vec<Result<(u16, Vec<u8>), String>> {
        Attrs::new(bytes)
            .map(|r| r.map(|(k, v)| (k, v.to_vec())).map_err(|e| e.to_string()))
            .collect()
    }

    #[test]
    fn attrs_walks_as_nlas_iterator_does_and_strips_the_flag_bits() {
        // A 5-byte value padded to 8, a nest flag on the second, then an empty value.
        let bytes = [
            5, 0, 3, 0, 0xaa, 0, 0, 0, //
            8, 0, 0x01, 0x80, 1, 2, 3, 4, //
            4, 0, 9, 0,
        ];
        let ours = walk(&bytes);
        assert_eq!(
            ours,
            vec![
                Ok((3, vec![0xaa])),
                Ok((1, vec![1, 2, 3, 4])),
                Ok((9, vec![]))
            ]
        );
        let core: Vec<(u16, Vec<u8>)> = NlasIterator::new(&bytes[..])
            .map(|n| {
                let n = n.unwrap();
                (kind(&n), n.value().to_vec())
            })
            .collect();
        assert_eq!(ours, core.into_iter().map(Ok).collect::<Vec<_>>());
    }

    #[test]
    fn fixed_size_readers_give_the_core_parsers_values_and_errors() {
        // Every length from 0 to 9, bytes that differ in each place: the same value, or the
        // same error text, as netlink-packet-core's parser with the name as its context.
        fn same<T: PartialEq + std::fmt::Debug>(
            ours: Result<T, DecodeError>,
            core: Result<T, DecodeError>,
            v: &[u8],
        ) {
            match (ours, core) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{v:?}"),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{v:?}"),
                (a, b) => panic!("{v:?}: ours {a:?}, the core's {b:?}"),
            }
        }
        let bytes: Vec<u8> = (1..=9).map(|i| i * 17).collect();
        let mut accepted = 0;
        for n in 0..=bytes.len() {
            let v = &bytes[..n];
            same(u8_of(v, "X"), parse_u8(v).context("X"), v);
            same(u16_of(v, "X"), parse_u16(v).context("X"), v);
            same(be16_of(v, "X"), parse_u16_be(v).context("X"), v);
            same(u32_of(v, "X"), parse_u32(v).context("X"), v);
            same(u64_of(v, "X"), parse_u64(v).context("X"), v);
            accepted += [
                u8_of(v, "X").is_ok(),
                u16_of(v, "X").is_ok(),
                u32_of(v, "X").is_ok(),
                u64_of(v, "X").is_ok(),
            ]
            .iter()
            .filter(|ok| **ok)
            .count();
        }
        assert_eq!(accepted, 4, "each reader takes one length");
        assert!(u32_of(&bytes[..3], "IPVS_DEST_ATTR_WEIGHT")
            .unwrap_err()
            .to_string()
            .starts_with("IPVS_DEST_ATTR_WEIGHT"));
    }

    #[test]
    fn a_damaged_attribute_is_an_error_and_ends_the_walk() {
        // Length 3 (under the header), length past the end, a cut header.
        for bytes in [
            &[3u8, 0, 1, 0, 9, 9, 9, 9][..],
            &[12, 0, 1, 0, 1, 2],
            &[8, 0, 1],
        ] {
            let got = walk(bytes);
            assert_eq!(got.len(), 1, "{bytes:?}: {got:?}");
            assert!(got[0].is_err(), "{bytes:?}: {got:?}");
            assert!(NlasIterator::new(bytes).next().unwrap().is_err());
        }
        // A good attribute, then a damaged one: one value, then the error, then nothing.
        let got = walk(&[4, 0, 1, 0, 9, 0, 2, 0]);
        assert_eq!(got.len(), 2);
        assert!(got[0].is_ok() && got[1].is_err());
    }
}
