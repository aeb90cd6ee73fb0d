//! Addresses as text, as glibc's `inet_ntop` writes them: what ipvsadm prints and what the
//! JSON schema holds.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address as glibc's `inet_ntop` writes it, in a buffer on the stack (no allocation): for
/// IPv6 this differs from Rust's `Display` in one case, IPv4-compatible addresses
/// (`::a.b.c.d`), which glibc writes with a dotted quad.
///
/// ```
/// use ipvs::addr::Ntop;
/// let a = "::10.1.2.3".parse().unwrap();
/// assert_eq!(Ntop::new(a).as_str(), "::10.1.2.3");
/// assert_eq!(format!("[{}]:80", Ntop::new(a)), "[::10.1.2.3]:80");
/// ```
#[derive(Clone, Copy)]
pub struct Ntop {
    // INET6_ADDRSTRLEN (46) with its NUL: the longest text is 45 bytes.
    buf: [u8; 46],
    len: u8,
}

impl Ntop {
    /// The text of `addr`.
    #[inline]
    pub fn new(addr: IpAddr) -> Self {
        let mut t = Ntop {
            buf: [0; 46],
            len: 0,
        };
        match addr {
            IpAddr::V4(a) => t.ipv4(a),
            IpAddr::V6(a) => t.ipv6(&a),
        }
        t
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever written.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// The text, as bytes (for a byte buffer).
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }

    /// Appends the text to `out`: the whole buffer in one copy of its fixed size, then cut to
    /// the text's length (a copy of a length known only at run time is a call to `memcpy`).
    #[inline]
    pub fn push_to(&self, out: &mut Vec<u8>) {
        let at = out.len();
        out.extend_from_slice(&self.buf);
        out.truncate(at + usize::from(self.len));
    }

    fn push(&mut self, b: u8) {
        // At most 45 bytes are ever pushed (eight words of four digits and seven colons).
        if let Some(slot) = self.buf.get_mut(usize::from(self.len)) {
            *slot = b;
            self.len += 1;
        }
    }

    /// A dotted quad: each byte's digits and a dot from a table, four bytes at a time.
    fn ipv4(&mut self, a: Ipv4Addr) {
        let mut at = usize::from(self.len);
        for o in a.octets() {
            let (text, len) = OCTETS[usize::from(o)];
            // At most 7 bytes (`::ffff:`) come before a quad, which takes 16 with its last dot.
            if let Some(slot) = self.buf.get_mut(at..at + 4) {
                slot.copy_from_slice(&text);
                at += usize::from(len);
            }
        }
        // Without the last dot.
        self.len = at.saturating_sub(1) as u8;
    }

    /// glibc's `inet_ntop6`: the longest run (first on ties) of two or more zero words
    /// becomes `::`; an address whose first six words are zero (with a non-zero seventh), or
    /// that is IPv4-mapped, ends in a dotted quad.
    fn ipv6(&mut self, a: &Ipv6Addr) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let words = a.segments();
        // Longest run of zero words: (start, length).
        let (mut best, mut cur) = ((0usize, 0usize), (0usize, 0usize));
        for (i, w) in words.iter().enumerate() {
            if *w == 0 {
                if cur.1 == 0 {
                    cur.0 = i;
                }
                cur.1 += 1;
                if cur.1 > best.1 {
                    best = cur;
                }
            } else {
                cur.1 = 0;
            }
        }
        let zeros = if best.1 >= 2 { Some(best) } else { None };
        let mut i = 0;
        while i < 8 {
            if let Some((base, len)) = zeros {
                if i == base {
                    self.push(b':');
                    i += len;
                    continue;
                }
            }
            if i != 0 {
                self.push(b':');
            }
            if i == 6 {
                if let Some((0, len)) = zeros {
                    if len == 6 || (len == 5 && words[5] == 0xffff) {
                        let o = a.octets();
                        self.ipv4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
                        return;
                    }
                }
            }
            let w = words[i];
            let mut started = false;
            for shift in [12, 8, 4, 0] {
                let nibble = usize::from((w >> shift) & 0xf);
                if started || nibble != 0 || shift == 0 {
                    self.push(HEX[nibble]);
                    started = true;
                }
            }
            i += 1;
        }
        if let Some((base, len)) = zeros {
            if base + len == 8 {
                self.push(b':');
            }
        }
    }
}

/// Each byte's decimal digits followed by a dot (padded to 4 bytes), and how many of those
/// bytes are its text with the dot.
const OCTETS: [([u8; 4], u8); 256] = {
    let mut t = [([0u8; 4], 0u8); 256];
    let mut i = 0;
    while i < 256 {
        let o = i as u8;
        t[i] = if o >= 100 {
            ([b'0' + o / 100, b'0' + o / 10 % 10, b'0' + o % 10, b'.'], 4)
        } else if o >= 10 {
            ([b'0' + o / 10, b'0' + o % 10, b'.', 0], 3)
        } else {
            ([b'0' + o, b'.', 0, 0], 2)
        };
        i += 1;
    }
    t
};

impl fmt::Display for Ntop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl fmt::Debug for Ntop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// `10.0.0.1:80` or `[2001:db8::1]:80`, the address as `inet_ntop` writes it.
pub(crate) struct AddrPort(pub(crate) IpAddr, pub(crate) u16);

impl fmt::Display for AddrPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Pieces, not `write!`: `apply` prints a line of these for each change.
        let text = Ntop::new(self.0);
        match self.0 {
            IpAddr::V4(_) => f.write_str(text.as_str())?,
            IpAddr::V6(_) => {
                f.write_str("[")?;
                f.write_str(text.as_str())?;
                f.write_str("]")?;
            }
        }
        f.write_str(":")?;
        decimal(f, i64::from(self.1))
    }
}

/// `n` in decimal, as `{}` writes it, without the formatting machinery's cost per argument.
pub(crate) fn decimal(f: &mut fmt::Formatter<'_>, n: i64) -> fmt::Result {
    // i64::MIN has 19 digits and a sign.
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut m = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    // Only ASCII digits and a sign were written.
    f.write_str(std::str::from_utf8(&buf[i..]).unwrap_or_default())
}

/// Appends `n` in decimal, as [`decimal`] writes it: the digits made in a block of fixed size,
/// appended whole and cut to their length (no `memcpy` call, no UTF-8 check).
#[inline]
pub(crate) fn push_decimal(out: &mut Vec<u8>, n: i64) {
    // i64::MIN has 19 digits and a sign.
    let mut block = [0u8; 20];
    let mut m = n.unsigned_abs();
    let mut len = usize::from(n < 0) + 1;
    let mut rest = m / 10;
    while rest > 0 {
        len += 1;
        rest /= 10;
    }
    if n < 0 {
        block[0] = b'-';
    }
    let mut i = len;
    while i > usize::from(n < 0) {
        i -= 1;
        if let Some(b) = block.get_mut(i) {
            // The remainder is below 10: the cast cannot lose anything.
            *b = b'0' + (m % 10) as u8;
        }
        m /= 10;
    }
    let at = out.len();
    out.extend_from_slice(&block);
    out.truncate(at + len);
}

/// An address as [`Ntop`] writes it (`serialize_with`).
pub(crate) fn ser_ntop<S: serde::Serializer>(a: &IpAddr, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(Ntop::new(*a).as_str())
}

/// An optional address as [`Ntop`] writes it, or `null`.
pub(crate) fn ser_ntop_opt<S: serde::Serializer>(
    a: &Option<IpAddr>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match a {
        Some(a) => ser_ntop(a, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ntop(s: &str) -> String {
        Ntop::new(s.parse().unwrap()).to_string()
    }

    #[test]
    fn ntop_matches_glibc() {
        for (addr, want) in [
            ("0.0.0.0", "0.0.0.0"),
            ("10.0.0.1", "10.0.0.1"),
            ("255.255.255.255", "255.255.255.255"),
            ("::", "::"),
            ("::1", "::1"),
            ("1::", "1::"),
            ("2001:db8::1", "2001:db8::1"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
            ("1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"),
            ("::ffff:10.1.2.3", "::ffff:10.1.2.3"),
            ("::10.1.2.3", "::10.1.2.3"),
            ("::ffff:0:10.1.2.3", "::ffff:0:a01:203"),
            (
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            ),
        ] {
            assert_eq!(ntop(addr), want, "{addr}");
        }
        assert_eq!(
            format!("{:>9}", Ntop::new("::1".parse().unwrap())),
            "      ::1"
        );
    }

    #[test]
    fn dotted_quads_are_rust_s_text_and_push_to_appends_them() {
        // Every byte in every place (the others at their widest and narrowest), and the
        // IPv4-mapped and -compatible forms, whose quad follows a prefix.
        for o in 0..=255u8 {
            for place in 0..4 {
                for other in [0u8, 9, 10, 99, 100, 255] {
                    let mut q = [other; 4];
                    q[place] = o;
                    let a = Ipv4Addr::from(q);
                    assert_eq!(Ntop::new(IpAddr::V4(a)).as_str(), a.to_string());
                    let mapped = IpAddr::V6(a.to_ipv6_mapped());
                    assert_eq!(Ntop::new(mapped).as_str(), format!("::ffff:{a}"));
                    let mut out = b"x".to_vec();
                    Ntop::new(IpAddr::V4(a)).push_to(&mut out);
                    Ntop::new(mapped).push_to(&mut out);
                    assert_eq!(out, format!("x{a}::ffff:{a}").into_bytes());
                }
            }
        }
    }

    #[test]
    fn push_decimal_writes_what_decimal_writes() {
        struct D(i64);
        impl fmt::Display for D {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                decimal(f, self.0)
            }
        }
        let mut values = vec![i64::MIN, i64::MIN + 1, i64::MAX, 0, -1, 1];
        let mut p = 1i64;
        for _ in 0..19 {
            values.extend([p - 1, p, p + 1, -(p - 1), -p, -(p + 1)]);
            p = p.saturating_mul(10);
        }
        values.extend([u32::MAX as i32 as i64, i64::from(u32::MAX), 65535]);
        for n in values {
            let mut out = b"x".to_vec();
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}").into_bytes(), "{n}");
            assert_eq!(D(n).to_string(), n.to_string());
        }
    }

    #[test]
    fn ntop_is_rust_s_text_but_for_ipv4_compatible_addresses() {
        // Every pattern of zero and non-zero words, with values that need 1 to 4 hex digits:
        // Rust's `Display` follows RFC 5952 as glibc does, except for `::a.b.c.d`.
        let values = [0x1u16, 0xab, 0xdb8, 0xffff];
        for mask in 0u32..256 {
            for (k, v) in values.iter().enumerate() {
                let mut w = [0u16; 8];
                for (i, x) in w.iter_mut().enumerate() {
                    if mask & (1 << i) != 0 {
                        *x = v.rotate_left((i + k) as u32);
                    }
                }
                let a = Ipv6Addr::from(w);
                let want = if w[..6] == [0; 6] && w[6] != 0 {
                    let o = a.octets();
                    format!("::{}", Ipv4Addr::new(o[12], o[13], o[14], o[15]))
                } else {
                    a.to_string()
                };
                assert_eq!(Ntop::new(IpAddr::V6(a)).as_str(), want, "{w:?}");
            }
        }
    }
}
