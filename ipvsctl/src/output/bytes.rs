//! Writing text straight into a byte buffer: numbers, padding and addresses
//! without a `String` per field and without `core::fmt` (whose width handling
//! costs more than the digits). Everything written comes from `&str` or ASCII,
//! so a buffer filled only through these stays UTF-8.

use std::net::IpAddr;

use ipvs::addr::Ntop;

/// Appends a string.
#[inline]
pub(crate) fn push_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
}

/// Spaces to pad with, written as one block of a known size (inline stores, no `memset` call)
/// and cut back.
const SPACES: [u8; 32] = [b' '; 32];

/// Appends the first `len` bytes of `block` (at most `N`) by a copy of the whole block, then
/// cut back: a copy of a size known at compile time is inline stores, where one of `len`
/// bytes is a call to `memcpy`.
#[inline(always)]
pub(crate) fn push_block<const N: usize>(out: &mut Vec<u8>, block: &[u8; N], len: usize) {
    let start = out.len();
    out.extend_from_slice(block);
    out.truncate(start + len);
}

/// Appends spaces until what was written since `start` is `width` bytes long,
/// like printf's `%-Ns` (which counts bytes); nothing when it is longer.
#[inline]
pub(crate) fn pad_from(out: &mut Vec<u8>, start: usize, width: usize) {
    let end = start + width;
    while out.len() < end {
        let missing = end - out.len();
        push_block(out, &SPACES, missing.min(SPACES.len()));
    }
}

/// Cuts what was written since `start` to at most `max` bytes, as ipvsadm does by
/// writing a NUL into its buffer. The cut moves back to a character boundary
/// rather than split one (the buffer stays UTF-8).
pub(crate) fn cut_from(out: &mut Vec<u8>, start: usize, max: usize) {
    let mut end = start + max;
    if out.len() <= end {
        return;
    }
    // A UTF-8 continuation byte is 0b10xx_xxxx: the character began before it.
    while end > start && out[end] & 0xc0 == 0x80 {
        end -= 1;
    }
    out.truncate(end);
}

/// The two digits of each number below 100 (the text and JSON writers' one table).
pub(crate) const PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// The decimal digits of `n` at the start of 20 bytes of spaces (a u64 has at most 20 digits),
/// and how many there are. Two digits at a time, from a table.
#[inline(always)]
fn digits(mut n: u64) -> ([u8; 20], usize) {
    let mut buf = [b' '; 20];
    let len = n.checked_ilog10().map_or(1, |l| l as usize + 1);
    let mut i = len;
    while n >= 100 {
        // Below 100: the cast cannot lose anything.
        let r = 2 * (n % 100) as usize;
        n /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[r..r + 2]);
    }
    if n >= 10 {
        let r = 2 * n as usize;
        buf[i - 2..i].copy_from_slice(&PAIRS[r..r + 2]);
    } else {
        // Below 10.
        buf[i - 1] = b'0' + n as u8;
    }
    (buf, len)
}

/// Puts `n`'s digits at `at` in `block`, over its spaces, as `%-Nu` writes them in a column
/// of `width`, when they fit in it; says whether they did. The digits come with the spaces of
/// a 20-byte block after them, so columns are put from left to right, each over the spaces
/// the one before left.
#[inline(always)]
pub(crate) fn put_u64_left<const N: usize>(
    block: &mut [u8; N],
    at: usize,
    n: u64,
    width: usize,
) -> bool {
    if n < 10 {
        match block.get_mut(at) {
            // Below 10: the cast cannot lose anything.
            Some(b) if width >= 1 => *b = b'0' + n as u8,
            _ => return false,
        }
        return true;
    }
    let (buf, len) = digits(n);
    match block.get_mut(at..at + buf.len()) {
        Some(d) if len <= width => d.copy_from_slice(&buf),
        _ => return false,
    }
    true
}

/// Appends `n` in decimal (`%u`, `%lu`).
#[inline]
pub(crate) fn push_u64(out: &mut Vec<u8>, n: u64) {
    push_u64_left(out, n, 0);
}

/// Appends `n` in decimal with a sign when negative (`%d`).
#[inline]
pub(crate) fn push_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_u64(out, n.unsigned_abs());
}

/// Appends `n` right-aligned in `width` bytes (`%Nlu`).
#[inline]
pub(crate) fn push_u64_right(out: &mut Vec<u8>, n: u64, width: usize) {
    let (buf, len) = digits(n);
    if len <= width && width <= buf.len() {
        // The padding and the digits in one block of a known size: the digits' 20 bytes (the
        // spaces after them cut off) put after `width - len` spaces.
        let mut block = [b' '; 40];
        if let Some(d) = block.get_mut(width - len..width - len + buf.len()) {
            d.copy_from_slice(&buf);
        }
        push_block(out, &block, width);
        return;
    }
    if len < width {
        let start = out.len();
        pad_from(out, start, width - len);
    }
    out.extend_from_slice(&buf[..len]);
}

/// Appends `n` left-aligned in `width` bytes (`%-Nu`).
#[inline]
pub(crate) fn push_u64_left(out: &mut Vec<u8>, n: u64, width: usize) {
    let start = out.len();
    if n < 10 {
        // Most counters and weights of a listing: one digit and its padding in one block.
        out.extend_from_slice(&SPACES);
        if let Some(b) = out.get_mut(start) {
            // Below 10: the cast cannot lose anything.
            *b = b'0' + n as u8;
        }
        out.truncate(start + width.clamp(1, SPACES.len()));
        pad_from(out, start, width);
        return;
    }
    let (buf, len) = digits(n);
    // The digits and up to 20 bytes of padding in one block of a known size, cut back.
    push_block(out, &buf, len.max(width.min(buf.len())));
    pad_from(out, start, width);
}

/// Appends `n` left-aligned in `width` bytes (`%-Nd`).
#[inline]
pub(crate) fn push_i64_left(out: &mut Vec<u8>, n: i64, width: usize) {
    if n < 0 {
        out.push(b'-');
        push_u64_left(out, n.unsigned_abs(), width.saturating_sub(1));
    } else {
        push_u64_left(out, n.unsigned_abs(), width);
    }
}

/// Appends `s` left-aligned in `width` bytes (`%-Ns`).
#[inline]
pub(crate) fn push_str_left(out: &mut Vec<u8>, s: &str, width: usize) {
    let start = out.len();
    push_str(out, s);
    pad_from(out, start, width);
}

/// Appends an address as glibc's `inet_ntop` writes it (the library's [`Ntop`]).
#[inline]
pub(crate) fn push_ntop(out: &mut Vec<u8>, addr: IpAddr) {
    Ntop::new(addr).push_to(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = b"x".to_vec();
        f(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn numbers_pad_like_printf() {
        assert_eq!(s(|o| push_u64(o, 0)), "x0");
        for n in [7, 10, 99, 100, 255, 999, 1000, 65535] {
            assert_eq!(s(|o| push_u64(o, n)), format!("x{n}"));
        }
        assert_eq!(s(|o| push_u64(o, u64::MAX)), "x18446744073709551615");
        assert_eq!(s(|o| push_i64(o, -2147483648)), "x-2147483648");
        assert_eq!(s(|o| push_i64(o, i64::MIN)), "x-9223372036854775808");
        assert_eq!(s(|o| push_u64_right(o, 42, 8)), "x      42");
        assert_eq!(s(|o| push_u64_right(o, 123_456_789, 8)), "x123456789");
        assert_eq!(s(|o| push_u64_left(o, 42, 6)), "x42    ");
        assert_eq!(s(|o| push_i64_left(o, -1, 3)), "x-1 ");
        assert_eq!(s(|o| push_str_left(o, "Masq", 7)), "xMasq   ");
        assert_eq!(s(|o| push_str_left(o, "Tunnel!!", 7)), "xTunnel!!");
    }

    #[test]
    fn numbers_are_printfs_for_every_length_and_width() {
        let mut values: Vec<u64> = vec![0, 9, 10, 99, 100, u64::MAX, u64::MAX - 1];
        for p in 1..20 {
            let t = 10u64.pow(p);
            values.extend([t - 1, t, t + 1, t / 3 * 2 + 7]);
        }
        for n in values {
            for width in [0, 1, 2, 6, 7, 8, 9, 10, 11, 19, 20, 21, 31, 32, 33, 70] {
                assert_eq!(s(|o| push_u64(o, n)), format!("x{n}"));
                assert_eq!(s(|o| push_u64_left(o, n, width)), format!("x{n:<width$}"));
                assert_eq!(s(|o| push_u64_right(o, n, width)), format!("x{n:>width$}"));
                for i in [n as i64, (n as i64).wrapping_neg()] {
                    assert_eq!(s(|o| push_i64(o, i)), format!("x{i}"));
                    assert_eq!(s(|o| push_i64_left(o, i, width)), format!("x{i:<width$}"));
                }
            }
        }
        for width in [0, 5, 31, 32, 33, 64, 65, 100] {
            assert_eq!(s(|o| pad_from(o, 1, width)), format!("x{:width$}", ""));
        }
    }

    #[test]
    fn cut_keeps_characters_whole() {
        assert_eq!(
            s(|o| {
                push_str(o, "héllo");
                cut_from(o, 1, 2);
            }),
            "xh"
        );
        assert_eq!(
            s(|o| {
                push_str(o, "hello");
                cut_from(o, 1, 3);
            }),
            "xhel"
        );
        assert_eq!(
            s(|o| {
                push_str(o, "hi");
                cut_from(o, 1, 3);
            }),
            "xhi"
        );
    }
}
