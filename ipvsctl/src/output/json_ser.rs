//! A serde [`Serializer`](ser::Serializer) of ipvsctl's own that writes exactly what
//! `serde_json::to_writer_pretty` writes: serde_json's `PrettyFormatter` layout (a line and two
//! spaces a level for each element and key, `": "` after a key, `[]` and `{}` when empty), its
//! numbers (`itoa`'s decimal for integers, serde_json's own float formatting through its
//! `CompactFormatter`, `null` for NaN and the infinities) and its escaping (`\"`, `\\`, `\b`,
//! `\f`, `\n`, `\r`, `\t`, `\u00XX` for the other control characters, nothing else).
//!
//! It is driven by the library's serde impls, so the JSON has one meaning, the library's serde
//! form; only the writing is here. What it saves over serde_json with a formatter of ours
//! (callgrind, `examples/format_cost.rs`, in BENCHMARKS.md): serde_json looks up every byte of
//! every key and string in its escape table and writes the quotes, the text and the `": "` in
//! separate writes; here a key with its comma, line, quotes and `": "` (and a short string with
//! its quotes) is put together on the stack, checked for bytes that need escaping eight at a
//! time, and appended to the one buffer (the [`Chunked`]) in one copy of a fixed size. A
//! struct's key (a `&'static str`, as `SerializeStruct` gives it) is put together once for
//! its place (depth and position in its struct) and then copied from the block kept there
//! (the library's serde forms are structs for this: no `#[serde(flatten)]`, which makes a
//! map). Unsigned numbers are put together from their first digit in a block and copied
//! whole too. Text that needs escaping goes byte by byte, as serde_json's does.
//! `json_ser::tests` and
//! `json::pretty_tests` hold the bytes to serde_json's on every serde shape and on the
//! documents ipvsctl writes.
//!
//! Not known here: serde_json's `arbitrary_precision` and `raw_value` features (off in this
//! workspace), which make its numbers and raw values structs of a private name; with the first,
//! the tests' random `Value` trees would differ.

use std::fmt::{self, Display};

use serde::ser::{self, Impossible, Serialize};
use serde_json::ser::{CompactFormatter, Formatter};
use serde_json::Error;

use super::bytes::{push_block, PAIRS};
use super::listing::Chunked;

/// Writes `value` pretty-printed into `out` (without a final newline), handing the kept bytes
/// to `out`'s sink (`Chunked::spill`) after each element of an array.
pub(crate) fn write_pretty<T: ?Sized + Serialize>(
    value: &T,
    out: &mut Chunked<'_>,
) -> Result<(), Error> {
    value.serialize(&mut Pretty {
        out,
        depth: 0,
        keys: Box::new([Prepared::NONE; PLACES]),
    })
}

/// The serializer: where the bytes go, how deep it is, and the struct keys' blocks.
pub(crate) struct Pretty<'a, 'b> {
    out: &'a mut Chunked<'b>,
    depth: usize,
    keys: Box<[Prepared; PLACES]>,
}

/// serde_json's escapes: 0 for a byte written as it is, else the letter after the `\`
/// (`u` for `\u00XX`).
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Eight copies of a byte.
const fn splat(b: u8) -> u64 {
    0x0101_0101_0101_0101 * b as u64
}

/// Whether any of eight bytes is below 0x20 or is `"` or `\` (exact: the bit tricks answer
/// "is there such a byte" without false answers either way; only which byte it is would be
/// unreliable, and that is not asked).
#[inline]
fn word_needs_escape(w: u64) -> bool {
    const HIGH: u64 = splat(0x80);
    let below_space = w.wrapping_sub(splat(0x20)) & !w;
    let quote = w ^ splat(b'"');
    let quote = quote.wrapping_sub(splat(1)) & !quote;
    let backslash = w ^ splat(b'\\');
    let backslash = backslash.wrapping_sub(splat(1)) & !backslash;
    (below_space | quote | backslash) & HIGH != 0
}

/// Appends `s` when none of its bytes needs escaping, and says so; appends nothing otherwise.
/// Checked and copied eight bytes at a time (the last word overlapping the one before it,
/// written again over them), four for shorter strings, so that no copy is of a length known
/// only at run time (each such copy is a call to `memcpy`).
#[inline(always)]
fn push_clean(buf: &mut Vec<u8>, s: &[u8]) -> bool {
    let (start, n) = (buf.len(), s.len());
    if n >= 8 {
        let mut words = s.chunks_exact(8);
        for w in &mut words {
            let w = word8(w);
            if word_needs_escape(u64::from_le_bytes(w)) {
                buf.truncate(start);
                return false;
            }
            buf.extend_from_slice(&w);
        }
        if !words.remainder().is_empty() {
            let last = word8(&s[n - 8..]);
            if word_needs_escape(u64::from_le_bytes(last)) {
                buf.truncate(start);
                return false;
            }
            buf.truncate(start + n - 8);
            buf.extend_from_slice(&last);
        }
        true
    } else if n >= 4 {
        let (first, last) = (word4(&s[..4]), word4(&s[n - 4..]));
        let w = u64::from(u32::from_le_bytes(first)) | u64::from(u32::from_le_bytes(last)) << 32;
        if word_needs_escape(w) {
            return false;
        }
        buf.extend_from_slice(&first);
        buf.truncate(start + n - 4);
        buf.extend_from_slice(&last);
        true
    } else {
        if s.iter().any(|b| ESCAPE[usize::from(*b)] != 0) {
            return false;
        }
        match *s {
            [a] => buf.push(a),
            [a, b] => buf.extend_from_slice(&[a, b]),
            [a, b, c] => buf.extend_from_slice(&[a, b, c]),
            _ => {}
        }
        true
    }
}

/// The size of the block a key (with its comma, line and `": "`) or a short string (with its
/// quotes) is put together in on the stack, then appended in one copy of a fixed size and cut
/// to its length.
const BLOCK: usize = 64;

/// [`push_clean`] into `block` at `at`: puts `s` there when none of its bytes needs escaping
/// and it fits, and says so.
#[inline(always)]
fn put_clean(block: &mut [u8; BLOCK], at: usize, s: &[u8]) -> bool {
    let n = s.len();
    if n >= 8 {
        let mut words = s.chunks_exact(8);
        let mut to = at;
        for w in &mut words {
            let w = word8(w);
            if word_needs_escape(u64::from_le_bytes(w)) {
                return false;
            }
            match block.get_mut(to..to + 8) {
                Some(d) => d.copy_from_slice(&w),
                None => return false,
            }
            to += 8;
        }
        if !words.remainder().is_empty() {
            let last = word8(&s[n - 8..]);
            if word_needs_escape(u64::from_le_bytes(last)) {
                return false;
            }
            match block.get_mut(at + n - 8..at + n) {
                Some(d) => d.copy_from_slice(&last),
                None => return false,
            }
        }
        true
    } else if n >= 4 {
        let (first, last) = (word4(&s[..4]), word4(&s[n - 4..]));
        let w = u64::from(u32::from_le_bytes(first)) | u64::from(u32::from_le_bytes(last)) << 32;
        if word_needs_escape(w) {
            return false;
        }
        match block.get_mut(at..at + 4) {
            Some(d) => d.copy_from_slice(&first),
            None => return false,
        }
        match block.get_mut(at + n - 4..at + n) {
            Some(d) => d.copy_from_slice(&last),
            None => return false,
        }
        true
    } else {
        for (i, b) in s.iter().enumerate() {
            match block.get_mut(at + i) {
                Some(d) if ESCAPE[usize::from(*b)] == 0 => *d = *b,
                _ => return false,
            }
        }
        true
    }
}

/// Eight bytes of a slice of at least eight.
#[inline]
fn word8(s: &[u8]) -> [u8; 8] {
    let mut w = [0; 8];
    w.copy_from_slice(&s[..8]);
    w
}

/// Four bytes of a slice of at least four.
#[inline]
fn word4(s: &[u8]) -> [u8; 4] {
    let mut w = [0; 4];
    w.copy_from_slice(&s[..4]);
    w
}

/// Appends `s` escaped as serde_json escapes it (without the quotes).
#[inline]
fn push_escaped(buf: &mut Vec<u8>, s: &str) {
    if !push_clean(buf, s.as_bytes()) {
        push_escaping(buf, s);
    }
}

/// [`push_escaped`] of a string with something to escape.
#[cold]
#[inline(never)]
fn push_escaping(buf: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let e = ESCAPE[usize::from(b)];
        if e == 0 {
            continue;
        }
        buf.extend_from_slice(&bytes[start..i]);
        if e == b'u' {
            buf.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]);
        } else {
            buf.extend_from_slice(&[b'\\', e]);
        }
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
}

/// A comma, a line break and the indentation of up to 39 levels.
const COMMA_BREAK: &[u8; 82] =
    b",\n                                                                                ";

/// Before an element or a key: a comma unless `first`, a line break and the indentation of
/// `depth` levels. Up to 15 levels as one 32-byte block, cut to its length.
#[inline(always)]
fn push_line(buf: &mut Vec<u8>, first: bool, depth: usize) {
    let from = usize::from(first);
    let n = 2 - from + 2 * depth;
    if depth <= 15 {
        let mut block = [0; 32];
        block.copy_from_slice(&COMMA_BREAK[from..from + 32]);
        let start = buf.len();
        buf.extend_from_slice(&block);
        buf.truncate(start + n);
    } else {
        match COMMA_BREAK.get(from..from + n) {
            Some(b) => buf.extend_from_slice(b),
            None => {
                buf.extend_from_slice(&COMMA_BREAK[from..2]);
                (0..depth).for_each(|_| buf.extend_from_slice(b"  "));
            }
        }
    }
}

/// A key with what comes before it (the comma unless `first`, its line) and, with `colon`,
/// the `": "` after, put together in a block, and its length: when it needs no escaping and
/// fits (up to 15 levels deep, up to 28 bytes).
#[inline(always)]
fn key_block(depth: usize, first: bool, k: &[u8], colon: bool) -> Option<([u8; BLOCK], usize)> {
    if depth > 15 || k.len() > BLOCK - 36 {
        return None;
    }
    let from = usize::from(first);
    let line = 2 - from + 2 * depth;
    let mut block = [0; BLOCK];
    block[..32].copy_from_slice(&COMMA_BREAK[from..from + 32]);
    block[line] = b'"';
    let end = line + 1 + k.len();
    if !put_clean(&mut block, line + 1, k) {
        return None;
    }
    block.get_mut(end..end + 3)?.copy_from_slice(b"\": ");
    Some((block, if colon { end + 3 } else { end + 1 }))
}

/// The block of a struct's key at a place (a depth and a position in its struct), made by
/// [`key_block`] once and written for every object of that struct at that depth.
#[derive(Clone, Copy)]
struct Prepared {
    /// Where the key's text is (a `&'static str`'s pointer; 0: no key).
    key: usize,
    /// The key's length.
    len: usize,
    /// Its depth, twice, and 1 when it is its struct's first ([`Prepared::at`]).
    at: usize,
    block: [u8; BLOCK],
    /// The length of the block's text.
    used: u8,
}

/// Places for prepared keys: depths 0 to 7 (modulo 8) by the first 32 positions (modulo 32)
/// of a struct. A place shared by two keys keeps the last one (each check compares the key).
const PLACES: usize = 8 * 32;

impl Prepared {
    const NONE: Prepared = Prepared {
        key: 0,
        len: 0,
        at: 0,
        block: [0; BLOCK],
        used: 0,
    };

    /// A key's depth and whether it is its struct's first, in one word (kept blocks are at
    /// most 15 deep: a deeper key's word is never a kept block's, wrapping or not).
    #[inline(always)]
    fn at(first: bool, depth: usize) -> usize {
        depth.wrapping_mul(2) | usize::from(first)
    }
}

impl Pretty<'_, '_> {
    #[inline]
    fn buf(&mut self) -> &mut Vec<u8> {
        self.out.buf()
    }

    /// `[` or `{`: one level deeper.
    #[inline]
    fn open(&mut self, bracket: u8) {
        self.depth += 1;
        self.buf().push(bracket);
    }

    /// `]` or `}`, on a line of its own when something was inside.
    #[inline(always)]
    fn close(&mut self, bracket: u8, had_value: bool) {
        self.depth -= 1;
        let depth = self.depth;
        let buf = self.buf();
        if had_value && depth <= 15 {
            // The line and the bracket as one block.
            let mut block = [0; 32];
            block.copy_from_slice(&COMMA_BREAK[1..33]);
            let n = 1 + 2 * depth;
            block[n] = bracket;
            push_block(buf, &block, n + 1);
            return;
        }
        if had_value {
            push_line(buf, true, depth);
        }
        buf.push(bracket);
    }

    /// Before an element or a key: a comma after the first, then its line.
    #[inline]
    fn item(&mut self, first: bool) {
        let depth = self.depth;
        push_line(self.buf(), first, depth);
    }

    /// A key with what comes before it (the comma, its line) and, with `colon`, the `": "`
    /// after: put together in a block and appended in one copy when it needs no escaping and
    /// fits (up to 15 levels deep, up to 28 bytes).
    #[inline]
    fn key(&mut self, first: bool, key: &str, colon: bool) {
        let depth = self.depth;
        if let Some((block, len)) = key_block(depth, first, key.as_bytes(), colon) {
            push_block(self.buf(), &block, len);
            return;
        }
        let buf = self.buf();
        buf.reserve(2 * depth + key.len() + 40);
        push_line(buf, first, depth);
        buf.push(b'"');
        push_escaped(buf, key);
        if colon {
            buf.extend_from_slice(b"\": ");
        } else {
            buf.push(b'"');
        }
    }

    /// A struct's key (the `n`th of its struct), as [`Pretty::key`] writes it, from the
    /// block kept for that place (depth and `n`) when that block is this key's: a key of a
    /// struct is a `&'static str`, whose place and length name its text for the whole run
    /// (static memory is never freed or reused), so the block made for it once serves every
    /// object of that struct at that depth; a map's keys (of any life) never come here.
    #[inline(always)]
    fn struct_key(&mut self, first: bool, n: usize, key: &'static str) {
        let depth = self.depth;
        let at = Prepared::at(first, depth);
        let slot = &self.keys[(depth & 7) << 5 | (n & 31)];
        if slot.key == key.as_ptr() as usize && slot.len == key.len() && slot.at == at {
            push_block(self.out.buf(), &slot.block, usize::from(slot.used));
            return;
        }
        self.struct_key_made(first, n, key);
    }

    /// [`Pretty::struct_key`] when its place holds another key's block (or none): the block
    /// made, kept and written; a key without a block (one that needs escaping, or is too long
    /// or too deep) as [`Pretty::key`] writes it.
    #[inline(never)]
    fn struct_key_made(&mut self, first: bool, n: usize, key: &'static str) {
        let depth = self.depth;
        match key_block(depth, first, key.as_bytes(), true) {
            Some((block, used)) => {
                self.keys[(depth & 7) << 5 | (n & 31)] = Prepared {
                    key: key.as_ptr() as usize,
                    len: key.len(),
                    at: Prepared::at(first, depth),
                    block,
                    // At most BLOCK.
                    used: used as u8,
                };
                push_block(self.out.buf(), &block, used);
            }
            None => self.key(first, key, true),
        }
    }

    /// A string value, quoted and escaped: put together in a block and appended in one copy
    /// when it needs no escaping and fits (up to 62 bytes).
    #[inline(always)]
    fn string(&mut self, s: &str) {
        let b = s.as_bytes();
        let n = b.len();
        if (4..=16).contains(&n) {
            // The words, addresses and names of a listing: two words (of 8 bytes, or of 4
            // under 8 bytes) overlapping in the middle, checked together and put between the
            // quotes in a block of 24.
            let mut block = [0u8; 24];
            block[0] = b'"';
            let clean = if n >= 8 {
                let (first, last) = (word8(&b[..8]), word8(&b[n - 8..]));
                let clean = !word_needs_escape(u64::from_le_bytes(first))
                    && !word_needs_escape(u64::from_le_bytes(last));
                block[1..9].copy_from_slice(&first);
                block[n - 7..n + 1].copy_from_slice(&last);
                clean
            } else {
                let (first, last) = (word4(&b[..4]), word4(&b[n - 4..]));
                let w = u64::from(u32::from_le_bytes(first))
                    | u64::from(u32::from_le_bytes(last)) << 32;
                block[1..5].copy_from_slice(&first);
                block[n - 3..n + 1].copy_from_slice(&last);
                !word_needs_escape(w)
            };
            if clean {
                block[n + 1] = b'"';
                push_block(self.buf(), &block, n + 2);
                return;
            }
        }
        self.string_other(s);
    }

    /// [`Pretty::string`] of a string under 4 or over 16 bytes, or with something to escape.
    #[inline(never)]
    fn string_other(&mut self, s: &str) {
        let b = s.as_bytes();
        if b.len() <= BLOCK - 2 {
            let mut block = [0; BLOCK];
            block[0] = b'"';
            if put_clean(&mut block, 1, b) {
                if let Some(q) = block.get_mut(1 + b.len()) {
                    *q = b'"';
                    push_block(self.buf(), &block, b.len() + 2);
                    return;
                }
            }
        }
        let buf = self.buf();
        buf.reserve(s.len() + 10);
        buf.push(b'"');
        push_escaped(buf, s);
        buf.push(b'"');
    }

    /// A `Display` value as a string, escaped piece by piece as serde_json's `collect_str`.
    fn display<T: ?Sized + Display>(&mut self, value: &T) -> Result<(), Error> {
        struct Escaping<'v>(&'v mut Vec<u8>);
        impl fmt::Write for Escaping<'_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                push_escaped(self.0, s);
                Ok(())
            }
        }
        let buf = self.buf();
        buf.push(b'"');
        fmt::write(&mut Escaping(buf), format_args!("{value}"))
            .map_err(|_| ser::Error::custom("a Display implementation returned an error"))?;
        buf.push(b'"');
        Ok(())
    }

    /// An integer as `itoa` writes it (serde_json's): the signed and the 128-bit ones.
    #[inline]
    fn int<I: itoa::Integer>(&mut self, v: I) {
        self.buf()
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }

    /// An unsigned integer of up to 64 bits, in decimal as `itoa` writes it: put together in
    /// a block of 24 bytes from the first digit on and appended in one copy of the block, cut
    /// to its length (`itoa` writes from the last digit back, so its text is copied with a
    /// length known only at run time: a call to `memcpy` for each number).
    #[inline(always)]
    fn uint(&mut self, v: u64) {
        if v < 10 {
            self.buf().push(b'0' + v as u8);
        } else {
            self.uint_long(v);
        }
    }

    /// [`Pretty::uint`] of a number of two digits or more: written from its last digit back,
    /// four at a time, ending at the middle of a block of 48, and appended by a copy of the
    /// 24 bytes from its first digit on (a copy of a fixed size), cut to its length.
    #[inline(never)]
    fn uint_long(&mut self, v: u64) {
        const END: usize = 24;
        let mut block = [0u8; 2 * END];
        let (mut v, mut at) = (v, END);
        while v >= 10_000 {
            // Below 10,000: fits.
            let four = (v % 10_000) as u32;
            v /= 10_000;
            at -= 4;
            let (hi, lo) = ((four / 100) as usize, (four % 100) as usize);
            if let Some(d) = block.get_mut(at..at + 4) {
                d[..2].copy_from_slice(&PAIRS[2 * hi..2 * hi + 2]);
                d[2..].copy_from_slice(&PAIRS[2 * lo..2 * lo + 2]);
            }
        }
        // Below 10,000 (u64 has at most 20 digits: `at` stays at least 4).
        let mut v = v as usize;
        if v >= 100 {
            let pair = v % 100;
            v /= 100;
            at -= 2;
            block[at..at + 2].copy_from_slice(&PAIRS[2 * pair..2 * pair + 2]);
        }
        if v >= 10 {
            at -= 2;
            block[at..at + 2].copy_from_slice(&PAIRS[2 * v..2 * v + 2]);
        } else {
            at -= 1;
            block[at] = b'0' + v as u8;
        }
        if let Some(digits) = block.get(at..at + END) {
            let mut out = [0u8; END];
            out.copy_from_slice(digits);
            push_block(self.buf(), &out, END - at);
        }
    }

    /// serde_json's float: its own formatting when finite, `null` otherwise.
    fn f64(&mut self, v: f64) -> Result<(), Error> {
        if v.is_finite() {
            CompactFormatter.write_f64(self.buf(), v).map_err(Error::io)
        } else {
            self.buf().extend_from_slice(b"null");
            Ok(())
        }
    }

    fn f32(&mut self, v: f32) -> Result<(), Error> {
        if v.is_finite() {
            CompactFormatter.write_f32(self.buf(), v).map_err(Error::io)
        } else {
            self.buf().extend_from_slice(b"null");
            Ok(())
        }
    }

    /// `{` and the one key of an enum variant's object (`{"Variant": ...}`).
    fn variant_key(&mut self, variant: &str) {
        self.open(b'{');
        self.key(true, variant, true);
    }
}

/// Where a compound is: as serde_json's `State` (`Empty`: closed already, its length was 0).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Empty,
    First,
    Rest,
}

/// An array or object being written; `variant`: inside an enum variant's object, closed
/// after it.
pub(crate) struct Compound<'s, 'a, 'b> {
    ser: &'s mut Pretty<'a, 'b>,
    state: State,
    variant: bool,
    /// The fields written so far (of a struct).
    fields: usize,
}

impl Compound<'_, '_, '_> {
    fn element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.ser.item(self.state == State::First);
        self.state = State::Rest;
        value.serialize(&mut *self.ser)?;
        self.ser.out.spill().map_err(Error::io)
    }

    #[inline(always)]
    fn field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.ser
            .struct_key(self.state == State::First, self.fields, key);
        self.fields += 1;
        self.state = State::Rest;
        value.serialize(&mut *self.ser)
    }

    fn finish(self, bracket: u8) -> Result<(), Error> {
        if self.state != State::Empty {
            self.ser.close(bracket, self.state == State::Rest);
        }
        if self.variant {
            self.ser.close(b'}', true);
        }
        Ok(())
    }
}

impl<'s, 'a, 'b> Pretty<'a, 'b> {
    fn compound(
        &'s mut self,
        bracket: u8,
        len: Option<usize>,
        variant: bool,
    ) -> Compound<'s, 'a, 'b> {
        self.open(bracket);
        let state = if len == Some(0) {
            self.close(if bracket == b'[' { b']' } else { b'}' }, false);
            State::Empty
        } else {
            State::First
        };
        Compound {
            ser: self,
            state,
            variant,
            fields: 0,
        }
    }
}

impl<'s, 'a, 'b> ser::Serializer for &'s mut Pretty<'a, 'b> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'s, 'a, 'b>;
    type SerializeTuple = Compound<'s, 'a, 'b>;
    type SerializeTupleStruct = Compound<'s, 'a, 'b>;
    type SerializeTupleVariant = Compound<'s, 'a, 'b>;
    type SerializeMap = Compound<'s, 'a, 'b>;
    type SerializeStruct = Compound<'s, 'a, 'b>;
    type SerializeStructVariant = Compound<'s, 'a, 'b>;

    #[inline]
    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.buf()
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    #[inline]
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.int(v);
        Ok(())
    }
    #[inline]
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.int(v);
        Ok(())
    }
    #[inline]
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.int(v);
        Ok(())
    }
    #[inline]
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.int(v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.int(v);
        Ok(())
    }
    #[inline]
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.uint(u64::from(v));
        Ok(())
    }
    #[inline]
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.uint(u64::from(v));
        Ok(())
    }
    #[inline]
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.uint(u64::from(v));
        Ok(())
    }
    #[inline]
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.uint(v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.int(v);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.f32(v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.f64(v)
    }
    #[inline]
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.string(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    #[inline(always)]
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.string(v);
        Ok(())
    }
    /// An array of numbers, as serde_json writes bytes.
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        let mut seq = self.compound(b'[', None, false);
        for b in v {
            seq.element(b)?;
        }
        seq.finish(b']')
    }
    #[inline]
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    #[inline]
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    #[inline]
    fn serialize_unit(self) -> Result<(), Error> {
        self.buf().extend_from_slice(b"null");
        Ok(())
    }
    #[inline]
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    #[inline]
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.string(variant);
        Ok(())
    }
    #[inline]
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.variant_key(variant);
        value.serialize(&mut *self)?;
        self.close(b'}', true);
        Ok(())
    }
    #[inline]
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Ok(self.compound(b'[', len, false))
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, Error> {
        Ok(self.compound(b'[', Some(len), false))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Ok(self.compound(b'[', Some(len), false))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        self.variant_key(variant);
        Ok(self.compound(b'[', Some(len), true))
    }
    #[inline]
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Ok(self.compound(b'{', len, false))
    }
    #[inline]
    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Ok(self.compound(b'{', Some(len), false))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        self.variant_key(variant);
        Ok(self.compound(b'{', Some(len), true))
    }
    fn collect_str<T: ?Sized + Display>(self, value: &T) -> Result<(), Error> {
        self.display(value)
    }
}

impl ser::SerializeSeq for Compound<'_, '_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish(b']')
    }
}

impl ser::SerializeTuple for Compound<'_, '_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish(b']')
    }
}

impl ser::SerializeTupleStruct for Compound<'_, '_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish(b']')
    }
}

impl ser::SerializeTupleVariant for Compound<'_, '_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish(b']')
    }
}

impl ser::SerializeMap for Compound<'_, '_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Error> {
        let first = self.state == State::First;
        self.state = State::Rest;
        key.serialize(Key {
            ser: &mut *self.ser,
            first,
            colon: false,
        })
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.ser.buf().extend_from_slice(b": ");
        value.serialize(&mut *self.ser)
    }
    fn serialize_entry<K: ?Sized + Serialize, V: ?Sized + Serialize>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Result<(), Error> {
        let first = self.state == State::First;
        self.state = State::Rest;
        key.serialize(Key {
            ser: &mut *self.ser,
            first,
            colon: true,
        })?;
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), Error> {
        self.finish(b'}')
    }
}

impl ser::SerializeStruct for Compound<'_, '_, '_> {
    type Ok = ();
    type Error = Error;
    #[inline(always)]
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish(b'}')
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish(b'}')
    }
}

/// A map's key, as serde_json's `MapKeySerializer` takes it: strings, and numbers, booleans
/// and chars as strings; anything else is an error (after the comma and line, as serde_json
/// writes them before it looks at the key). With `colon`, the `": "` after it too.
struct Key<'s, 'a, 'b> {
    ser: &'s mut Pretty<'a, 'b>,
    first: bool,
    colon: bool,
}

fn key_must_be_a_string() -> Error {
    ser::Error::custom("key must be a string")
}

impl Key<'_, '_, '_> {
    /// A key that is not a string: its line, then `write` between quotes.
    fn quoted(
        self,
        write: impl FnOnce(&mut Pretty<'_, '_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.ser.item(self.first);
        self.ser.buf().push(b'"');
        write(&mut *self.ser)?;
        self.ser.buf().push(b'"');
        self.after()
    }

    fn quoted_int<I: itoa::Integer>(self, v: I) -> Result<(), Error> {
        self.quoted(|s| {
            s.int(v);
            Ok(())
        })
    }

    fn after(self) -> Result<(), Error> {
        if self.colon {
            self.ser.buf().extend_from_slice(b": ");
        }
        Ok(())
    }

    fn refuse<T>(self) -> Result<T, Error> {
        self.ser.item(self.first);
        Err(key_must_be_a_string())
    }
}

impl ser::Serializer for Key<'_, '_, '_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.ser.key(self.first, v, self.colon);
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.quoted(|s| {
            s.buf()
                .extend_from_slice(if v { b"true" } else { b"false" });
            Ok(())
        })
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.quoted_int(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.quoted_int(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.quoted_int(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.quoted_int(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.quoted_int(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.quoted_int(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.quoted_int(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.quoted_int(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.quoted_int(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.quoted_int(v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if !v.is_finite() {
            self.ser.item(self.first);
            return Err(ser::Error::custom(
                "float key must be finite (got NaN or +/-inf)",
            ));
        }
        self.quoted(|s| s.f32(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if !v.is_finite() {
            self.ser.item(self.first);
            return Err(ser::Error::custom(
                "float key must be finite (got NaN or +/-inf)",
            ));
        }
        self.quoted(|s| s.f64(v))
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        self.refuse()
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.refuse()
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.refuse()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.refuse()
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        self.refuse()
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        self.refuse()
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        self.refuse()
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        self.refuse()
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        self.refuse()
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        self.refuse()
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        self.refuse()
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        self.refuse()
    }
    fn collect_str<T: ?Sized + Display>(self, value: &T) -> Result<(), Error> {
        self.ser.item(self.first);
        self.ser.display(value)?;
        self.after()
    }
}

#[cfg(test)]
mod tests;
