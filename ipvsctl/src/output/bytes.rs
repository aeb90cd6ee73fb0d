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

/// Appends spaces until what was written since `start` is `width` bytes long,
/// like printf's `%-Ns` (which counts bytes); nothing when it is longer.
#[inline]
pub(crate) fn pad_from(out: &mut Vec<u8>, start: usize, width: usize) {
    let end = start + width;
    if out.len() < end {
        out.resize(end, b' ');
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

/// The decimal digits of `n`, at the end of `buf`: returns where they start.
#[inline]
fn digits(mut n: u64, buf: &mut [u8; 20]) -> usize {
    let mut i = buf.len();
    loop {
        i -= 1;
        // The remainder is below 10: the cast cannot lose anything.
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return i;
        }
    }
}

/// Appends `n` in decimal (`%u`, `%lu`).
#[inline]
pub(crate) fn push_u64(out: &mut Vec<u8>, n: u64) {
    // Most numbers of a listing (address bytes, weights, connection counts) have 1 to 3
    // digits: appended as arrays of a known length, without a copy of variable length.
    // Each digit is below 10: the casts cannot lose anything.
    let d = |n: u64| b'0' + (n % 10) as u8;
    match n {
        0..=9 => out.push(d(n)),
        10..=99 => out.extend_from_slice(&[d(n / 10), d(n)]),
        100..=999 => out.extend_from_slice(&[d(n / 100), d(n / 10), d(n)]),
        _ => {
            let mut buf = [0u8; 20];
            let i = digits(n, &mut buf);
            out.extend_from_slice(&buf[i..]);
        }
    }
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
    let mut buf = [0u8; 20];
    let i = digits(n, &mut buf);
    let len = buf.len() - i;
    if len < width {
        out.resize(out.len() + width - len, b' ');
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends `n` left-aligned in `width` bytes (`%-Nu`).
#[inline]
pub(crate) fn push_u64_left(out: &mut Vec<u8>, n: u64, width: usize) {
    let start = out.len();
    push_u64(out, n);
    pad_from(out, start, width);
}

/// Appends `n` left-aligned in `width` bytes (`%-Nd`).
#[inline]
pub(crate) fn push_i64_left(out: &mut Vec<u8>, n: i64, width: usize) {
    let start = out.len();
    push_i64(out, n);
    pad_from(out, start, width);
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
