//! Option values, read exactly as ipvsadm reads them with the C library:
//! `strtol`, `atoi`, `inet_aton` (so `10.1`, `0x7f.1` and `010.0.0.1` are
//! addresses), `inet_pton` for IPv6, and host and service names through the
//! system's resolver. Each function mirrors one of ipvsadm.c's helpers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use ipvs::limits::InvalidValue;
use ipvs::{DaemonState, Family, Protocol, TunnelType};

// The ranges are the library's, which checks the same values in JSON and Rust.
const MAX_TIMEOUT: i64 = ipvs::limits::MAX_TIMEOUT as i64;
pub const MAX_WEIGHT: i64 = ipvs::limits::MAX_WEIGHT as i64;

/// `--watch`'s value: seconds, a decimal number above 0 and at most a day.
pub fn parse_watch(s: &str) -> Option<Duration> {
    let secs: f64 = s.trim().parse().ok()?;
    (secs.is_finite() && secs > 0.0 && secs <= 86400.0).then(|| Duration::from_secs_f64(secs))
}

/// `--start-daemon`'s and `--stop-daemon`'s value: `master` or `backup`.
pub fn daemon_state(s: &str) -> Option<DaemonState> {
    s.parse().ok()
}

/// ipvsadm's `parse_timeout` (with `buf` present): `min..=MAX_TIMEOUT`.
pub fn timeout(s: &str, min: i64) -> Result<u32, String> {
    string_to_number(s, min, MAX_TIMEOUT)
        .map(|n| n as u32)
        .ok_or_else(|| format!("invalid timeout value `{s}' specified"))
}

/// ipvsadm's `string_to_number` in `min..=max`, or `illegal <what> specified`.
#[inline]
pub fn number(v: &str, min: i64, max: i64, what: &str) -> Result<i64, String> {
    string_to_number(v, min, max).ok_or_else(|| format!("illegal {what} specified"))
}

/// The first `max` bytes of `s`, as C's `strncpy` into a fixed buffer keeps them (cut at a
/// character boundary).
pub fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// C's `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// ipvsadm's `string_to_number`: the whole string is a base-10 `long`
/// (leading blanks and a sign allowed, as `strtol` takes them) in `min..=max`.
#[inline]
pub fn string_to_number(s: &str, min: i64, max: i64) -> Option<i64> {
    let n = strtol_whole(s)?;
    (min..=max).contains(&n).then_some(n)
}

/// What strtol skips before the digits: C white space, then one sign.
/// Returns whether the sign was `-`, and where the digits start.
fn sign_start(b: &[u8]) -> (bool, usize) {
    let mut i = 0;
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    match b.get(i) {
        Some(b'-') => (true, i + 1),
        Some(b'+') => (false, i + 1),
        _ => (false, i),
    }
}

/// `strtol(s, &end, 10)` that must consume the whole string, without overflow.
#[inline]
fn strtol_whole(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    // The usual (`-w 1`): up to 18 digits, nothing else, which cannot overflow.
    if (1..=18).contains(&b.len()) && b.iter().all(u8::is_ascii_digit) {
        return Some(b.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')));
    }
    strtol_whole_rules(s)
}

/// [`strtol_whole`] by strtol's rules, without the shortcut for plain digits.
#[inline(never)]
#[cold]
fn strtol_whole_rules(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let (negative, i) = sign_start(b);
    let digits = &b[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut n: i64 = 0;
    for d in digits {
        let v = i64::from(d - b'0');
        n = if negative {
            n.checked_mul(10)?.checked_sub(v)?
        } else {
            n.checked_mul(10)?.checked_add(v)?
        };
    }
    Some(n)
}

/// C's `atoi` (glibc: `(int) strtol(s, NULL, 10)`): leading number, 0 if none.
pub fn atoi(s: &str) -> i64 {
    let b = s.as_bytes();
    let (negative, mut i) = sign_start(b);
    let mut n: i64 = 0;
    while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(i64::from(d - b'0'));
        i += 1;
    }
    let n = if negative { -n } else { n };
    // strtol saturates at LONG_MIN/MAX, then the cast to int keeps the low 32 bits.
    i64::from(n as i32)
}

/// glibc's `inet_aton`: one to four parts, each decimal, octal (`0…`) or
/// hex (`0x…`), the last filling the remaining bytes; anything after a
/// blank is ignored.
pub fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    // Every `-R` line has one or two addresses, nearly always plain quads.
    match dotted_quad(s.as_bytes()) {
        Some((addr, used)) if used == s.len() => Some(addr),
        _ => inet_aton_rules(s),
    }
}

/// [`inet_aton`] by glibc's rules, without the shortcut for plain quads.
fn inet_aton_rules(s: &str) -> Option<Ipv4Addr> {
    const MAX: [u64; 4] = [0xffff_ffff, 0xff_ffff, 0xffff, 0xff];
    let b = s.as_bytes();
    let mut parts = [0u64; 3];
    let mut n = 0;
    let mut i = 0;
    loop {
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let (val, used) = strtoul_base0(&b[i..])?;
        i += used;
        if b.get(i) == Some(&b'.') {
            if n > 2 || val > 0xff {
                return None;
            }
            parts[n] = val;
            n += 1;
            i += 1;
        } else {
            if let Some(&c) = b.get(i) {
                if !is_c_space(c) {
                    return None;
                }
            }
            if val > MAX[n] {
                return None;
            }
            let mut word: u32 = 0;
            for (k, p) in parts[..n].iter().enumerate() {
                word |= (*p as u32) << (24 - 8 * k);
            }
            return Some(Ipv4Addr::from(word | val as u32));
        }
    }
}

/// A plain dotted quad at the start of `b` (`10.0.0.1`: four decimal parts of one to three
/// digits, none with a leading zero but `0` itself, each at most 255) and the bytes it takes,
/// read in one pass; `None` for anything else, which [`inet_aton`]'s full rules read (octal,
/// hex, fewer parts...). Where it reads an address and that is the whole text, those rules
/// read the same one (what follows the quad, a digit too, is for the caller to refuse).
#[inline(always)]
fn dotted_quad(b: &[u8]) -> Option<(Ipv4Addr, usize)> {
    let (a, rest) = octet(b)?;
    let [b'.', rest @ ..] = rest else { return None };
    let (b2, rest) = octet(rest)?;
    let [b'.', rest @ ..] = rest else { return None };
    let (c, rest) = octet(rest)?;
    let [b'.', rest @ ..] = rest else { return None };
    let (d, rest) = octet(rest)?;
    Some((Ipv4Addr::new(a, b2, c, d), b.len() - rest.len()))
}

/// One part of a [`dotted_quad`] at the start of `b`: one to three decimal digits, no leading
/// zero but `0` itself (octal to inet_aton), at most 255; and the bytes after it. A digit after
/// it (a fourth one, or one after a leading 0) is left to the caller, which takes only a `.`, a
/// `:` or the end there. Slice patterns: each byte is looked at once, its place known.
#[inline(always)]
fn octet(b: &[u8]) -> Option<(u8, &[u8])> {
    let v = |d: u8| d.wrapping_sub(b'0');
    match b {
        [d0 @ b'1'..=b'9', d1 @ b'0'..=b'9', d2 @ b'0'..=b'9', rest @ ..] => {
            let n = u32::from(v(*d0)) * 100 + u32::from(v(*d1) * 10 + v(*d2));
            Some((u8::try_from(n).ok()?, rest))
        }
        [d0 @ b'1'..=b'9', d1 @ b'0'..=b'9', rest @ ..] => Some((v(*d0) * 10 + v(*d1), rest)),
        [d0 @ b'0'..=b'9', rest @ ..] => Some((v(*d0), rest)),
        _ => None,
    }
}

/// [`parse_service`] for the usual `a.b.c.d` or `a.b.c.d:port` (a decimal port of up to five
/// digits, at most 65535); `None` for anything else, which the full rules read. Where it reads
/// an address, the full rules read the same address and port.
#[inline(always)]
fn plain_v4_service(buf: &str) -> Option<HostPort> {
    let b = buf.as_bytes();
    let (addr, used) = dotted_quad(b)?;
    let port = match b.get(used..) {
        Some([]) => None,
        Some([b':', digits @ ..]) if (1..=5).contains(&digits.len()) => {
            let mut n: u32 = 0;
            for &d in digits {
                let d = d.wrapping_sub(b'0');
                if d > 9 {
                    return None;
                }
                n = n * 10 + u32::from(d);
            }
            Some(u16::try_from(n).ok()?)
        }
        _ => return None,
    };
    Some(HostPort {
        addr: IpAddr::V4(addr),
        port,
    })
}

/// `strtoul(s, &end, 0)` from a leading digit: (value, bytes used); `None`
/// when it exceeds 32 bits (glibc's `inet_aton` rejects that).
fn strtoul_base0(b: &[u8]) -> Option<(u64, usize)> {
    let (radix, start) = if b.first() == Some(&b'0') {
        match b.get(1) {
            Some(b'x' | b'X') if b.get(2).is_some_and(u8::is_ascii_hexdigit) => (16, 2),
            _ => (8, 0),
        }
    } else {
        (10, 0)
    };
    let mut i = start;
    let mut val: u64 = 0;
    while let Some(d) = b.get(i).and_then(|c| char::from(*c).to_digit(radix)) {
        val = val
            .checked_mul(u64::from(radix))?
            .checked_add(u64::from(d))?;
        if val > 0xffff_ffff {
            return None;
        }
        i += 1;
    }
    Some((val, i))
}

/// ipvsadm's `host_to_addr`: the first IPv4 address of a host name
/// (`gethostbyname` finds IPv4 only).
fn host_to_addr(name: &str) -> Option<Ipv4Addr> {
    if name.is_empty() || name.contains('\0') {
        return None;
    }
    crate::sys::host_addrs(name)
        .into_iter()
        .find_map(|a| match a {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        })
}

/// ipvsadm's `service_to_port`: a port name for TCP, UDP or SCTP.
fn service_to_port(name: &str, proto: Option<Protocol>) -> Option<u16> {
    let db = proto?.name()?;
    if name.contains('\0') {
        return None;
    }
    crate::sys::service_port(name, db)
}

/// What `parse_service` read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPort {
    pub addr: IpAddr,
    /// The port, when one was given.
    pub port: Option<u16>,
}

/// ipvsadm's `parse_service` for `-t/-u/--sctp-service/-r`: `host[:port]`,
/// `[v6addr]:port` or a bare IPv6 address. `proto` names ports (`:http`);
/// without one, only numbers do. Quirks kept: all digits is no address;
/// `[v4]:port` drops the port; a bracketed address needs a port.
#[inline]
pub fn parse_service(buf: &str, proto: Option<Protocol>) -> Option<HostPort> {
    match plain_v4_service(buf) {
        Some(hp) => Some(hp),
        None => parse_service_rules(buf, proto),
    }
}

/// [`parse_service`] by ipvsadm's rules, without the shortcut for plain IPv4: out of the
/// shortcut's way (its frame and its calls are not the usual line's).
#[inline(never)]
#[cold]
fn parse_service_rules(buf: &str, proto: Option<Protocol>) -> Option<HostPort> {
    if buf.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut host = buf;
    let mut port: Option<&str> = None;
    if let Some(inner) = buf.strip_prefix('[') {
        let (h, after) = inner.split_once(']')?;
        port = Some(after.strip_prefix(':')?);
        host = h;
    }
    // An IPv6 address has two ':' at least ("::"); most hosts are IPv4 with
    // a port (one ':'): skip the attempt.
    let v6 = if host.bytes().filter(|&b| b == b':').nth(1).is_some() {
        host.parse::<Ipv6Addr>().ok()
    } else {
        None
    };
    let addr = if let Some(v6) = v6 {
        IpAddr::V6(v6)
    } else {
        // ipvsadm looks for the last ':' again here, inside the brackets if
        // there were some (so "[1.2.3.4]:80" loses its port).
        port = None;
        if let Some(colon) = host.bytes().rposition(|b| b == b':') {
            port = Some(&host[colon + 1..]);
            host = &host[..colon];
        }
        IpAddr::V4(inet_aton_rules(host).or_else(|| host_to_addr(host))?)
    };
    let port = match port {
        None => None,
        Some(p) => Some(match string_to_number(p, 0, 65535) {
            Some(n) => n as u16,
            None => service_to_port(p, proto)?,
        }),
    };
    Some(HostPort { addr, port })
}

/// ipvsadm's `parse_netmask` for IPv4 services: an address or a host name.
pub fn parse_netmask(s: &str) -> Option<Ipv4Addr> {
    inet_aton(s).or_else(|| host_to_addr(s))
}

/// ipvsadm's `parse_fwmark`: 1..=4294967295.
pub fn parse_fwmark(s: &str) -> Option<u32> {
    strtol_whole(s)
        .filter(|n| (1..=i64::from(u32::MAX)).contains(n))
        .map(|n| n as u32)
}

/// An IPv4 or IPv6 multicast group, as `--mcast-group` checks it: IPv6 when
/// the text has a `:`. `Err` carries which family failed.
pub fn parse_mcast_group(s: &str) -> Result<IpAddr, bool> {
    if s.contains(':') {
        match s.parse::<Ipv6Addr>() {
            Ok(a) if a.is_multicast() => Ok(IpAddr::V6(a)),
            _ => Err(true),
        }
    } else {
        match inet_pton4(s) {
            Some(a) if a.is_multicast() => Ok(IpAddr::V4(a)),
            _ => Err(false),
        }
    }
}

/// `inet_pton(AF_INET)`: exactly four decimal parts, no leading zeros.
fn inet_pton4(s: &str) -> Option<Ipv4Addr> {
    // Rust's parser is inet_pton's grammar.
    s.parse().ok()
}

/// ipvsadm's message for a value the library's checks refuse
/// ([`ipvs::Service::validate`], [`ipvs::Destination::validate`], ...), or
/// `None` where ipvsadm has no message of its own: it leaves a lower
/// threshold above the upper one to the kernel, and never sends the names
/// the command line truncates.
pub fn ipvsadm_message(e: &InvalidValue) -> Option<String> {
    use InvalidValue as V;
    Some(match e {
        V::ZeroPort => "Zero port specified for non-persistent service".into(),
        V::OnePacket(_) => "One-Packet Scheduling is only for UDP virtual services".into(),
        V::Family => "Different address family is allowed only for tunneling servers".into(),
        V::Weight(_) => "illegal weight specified".into(),
        V::UpperThreshold(_) => "illegal u_threshold specified".into(),
        V::LowerThreshold(_) => "illegal l_threshold specified".into(),
        V::PersistenceTimeout(t) | V::Timeout(_, t) => {
            format!("invalid timeout value `{t}' specified")
        }
        V::Fwmark => "invalid fwmark value `0' specified".into(),
        V::Netmask(Family::Inet6) => "illegal ipv6 netmask specified".into(),
        V::Netmask(_) => "illegal virtual server persistent mask specified".into(),
        V::FlagScheduler { flag, .. } => format!("incompatible scheduler flag `{flag}'"),
        V::TunnelPort(TunnelType::Gue) => {
            "You need to supply the 'tun-port' option for the 'gue' tunnel type".into()
        }
        V::TunnelPort(t) => format!("Illegal 'tun-port' option with the '{t}' tunnel type"),
        V::TunnelChecksum(t) => format!("Illegal 'tun-csum' option with the '{t}' tunnel type"),
        V::ChecksumBoth => "The option 'tun-remcsum' conflicts with the 'tun-csum' option in \
                            the 'gue' tunnel type"
            .into(),
        V::SyncId(_) => "illegal syncid specified".into(),
        V::SyncMaxlen(_) => "illegal sync-maxlen specified".into(),
        V::McastPort => "illegal mcast-port specified".into(),
        V::McastTtl => "illegal mcast-ttl specified".into(),
        V::McastGroup(a) => {
            let fam = if a.is_ipv6() { "IPv6" } else { "IPv4" };
            format!("invalid {fam} mcast-group `{a}'")
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtol_like_c() {
        assert_eq!(string_to_number("5", 0, 10), Some(5));
        assert_eq!(string_to_number(" 5", 0, 10), Some(5));
        assert_eq!(string_to_number("+5", 0, 10), Some(5));
        assert_eq!(string_to_number("-0", 0, 10), Some(0));
        assert_eq!(string_to_number("5 ", 0, 10), None);
        assert_eq!(string_to_number("0x5", 0, 10), None);
        assert_eq!(string_to_number("", 0, 10), None);
        assert_eq!(string_to_number("-", 0, 10), None);
        assert_eq!(string_to_number("11", 0, 10), None);
        assert_eq!(string_to_number("99999999999999999999", 0, i64::MAX), None);
        assert_eq!(
            string_to_number("2147483647", 0, i64::from(i32::MAX)),
            Some(2147483647)
        );
    }

    #[test]
    fn atoi_like_c() {
        assert_eq!(atoi("64"), 64);
        assert_eq!(atoi("64abc"), 64);
        assert_eq!(atoi("abc"), 0);
        assert_eq!(atoi(" -3"), -3);
        assert_eq!(atoi("255.255.255.0"), 255);
        assert_eq!(atoi("4294967360"), 64);
    }

    #[test]
    fn inet_aton_like_glibc() {
        let a = |s: &str| inet_aton(s).map(|a| a.to_string());
        assert_eq!(a("1.2.3.4").as_deref(), Some("1.2.3.4"));
        assert_eq!(a("010.0.0.1").as_deref(), Some("8.0.0.1"));
        assert_eq!(a("0x7f.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(a("1.2.3").as_deref(), Some("1.2.0.3"));
        assert_eq!(a("1.2.65535").as_deref(), Some("1.2.255.255"));
        assert_eq!(a("4294967295").as_deref(), Some("255.255.255.255"));
        assert_eq!(a("64").as_deref(), Some("0.0.0.64"));
        assert_eq!(a("1.1.1.2 junk").as_deref(), Some("1.1.1.2"));
        for bad in [
            "1.2.65536",
            "1.2.3.4.5",
            "256.1.1.1",
            "09.1.1.1",
            "1.1.1.1.",
            "",
            " 1.2.3.4",
            "0x",
            "4294967296",
            "1..2",
            "a.b.c.d",
            "-1",
        ] {
            assert_eq!(inet_aton(bad), None, "{bad}");
        }
    }

    /// The shortcut for plain digits reads what strtol's rules read: numbers of every length
    /// around where the shortcut stops (18 digits) and where a `long` overflows (19), with
    /// leading zeros, blanks and signs.
    #[test]
    fn plain_digits_read_as_strtol_reads_them() {
        let mut inputs: Vec<String> = Vec::new();
        for len in 1..=21 {
            for lead in ["", "0", "00", " ", "+", "-", "\t-0", "x"] {
                for fill in ['0', '1', '9'] {
                    inputs.push(format!("{lead}{}", fill.to_string().repeat(len)));
                    inputs.push(format!("{lead}1{}", fill.to_string().repeat(len - 1)));
                }
            }
        }
        for edge in [
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "999999999999999999",
            "1000000000000000000",
            "",
            "1 ",
            "1a",
            "٣",
        ] {
            inputs.push(edge.to_string());
        }
        let mut plain = 0;
        for s in &inputs {
            assert_eq!(strtol_whole(s), strtol_whole_rules(s), "{s:?}");
            plain += usize::from(s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()));
        }
        assert!(plain > 100, "{plain}");
        assert_eq!(strtol_whole("007"), Some(7));
        assert_eq!(
            strtol_whole("999999999999999999"),
            Some(999_999_999_999_999_999)
        );
    }

    /// The shortcuts for plain IPv4 read what the full rules read, wherever they read
    /// anything: every address and port built from parts chosen to sit at their edges.
    #[test]
    fn shortcuts_read_what_the_rules_read() {
        let parts = [
            "0", "00", "1", "01", "9", "10", "010", "99", "100", "255", "256", "0255", "999",
            "1000", "0x1", "", " ", "25", "299", "1x", "09",
        ];
        let ports = [
            "", ":", ":0", ":00", ":80", ":080", ":65535", ":065535", ":65536", ":99999",
            ":100000", ":+80", ": 80", ":8x", "x", ".", " ",
        ];
        let (mut read, mut quads) = (0, 0);
        for a in parts {
            for b in ["0", "255", "01", "256", ""] {
                for c in ["1", "10", "0"] {
                    for d in parts {
                        let quad = format!("{a}.{b}.{c}.{d}");
                        let fast = dotted_quad(quad.as_bytes())
                            .filter(|(_, used)| *used == quad.len())
                            .map(|(addr, _)| addr);
                        if let Some(addr) = fast {
                            quads += 1;
                            assert_eq!(Some(addr), inet_aton_rules(&quad), "{quad}");
                        }
                        assert_eq!(inet_aton(&quad), inet_aton_rules(&quad), "{quad}");
                        for p in ports {
                            let text = format!("{quad}{p}");
                            if let Some(hp) = plain_v4_service(&text) {
                                read += 1;
                                // No name is looked up where the shortcut reads.
                                assert_eq!(Some(hp), parse_service_rules(&text, None), "{text}");
                            }
                        }
                    }
                }
            }
        }
        // The shortcuts did read (a broken one that reads nothing would pass the rest).
        assert!(quads > 100 && read > 500, "{quads} {read}");
        assert_eq!(
            plain_v4_service("1.2.3.4:80").map(|h| h.port),
            Some(Some(80))
        );
        assert_eq!(
            dotted_quad(b"1.2.3.4"),
            Some(("1.2.3.4".parse().unwrap(), 7))
        );
        for other in [
            "1.2.3",
            "01.2.3.4",
            "1.2.3.256",
            "1.2.3.4.5",
            "1.2.3.4 ",
            "1.2.3.4:",
        ] {
            assert_eq!(plain_v4_service(other), None, "{other}");
        }
    }

    #[test]
    fn services_like_ipvsadm() {
        let tcp = Some(Protocol::Tcp);
        let p = |s: &str| parse_service(s, tcp);
        let v4 = |a: &str, port: Option<u16>| {
            Some(HostPort {
                addr: a.parse().unwrap(),
                port,
            })
        };
        assert_eq!(p("1.2.3.4:80"), v4("1.2.3.4", Some(80)));
        assert_eq!(p("1.2.3.4"), v4("1.2.3.4", None));
        assert_eq!(p("1.2.3.4:+81"), v4("1.2.3.4", Some(81)));
        assert_eq!(p("1.2.3.4: 80"), v4("1.2.3.4", Some(80)));
        assert_eq!(p("[1.2.3.4]:80"), v4("1.2.3.4", None));
        assert_eq!(p("[2001:db8::1]:443"), v4("2001:db8::1", Some(443)));
        assert_eq!(p("2001:db8::1"), v4("2001:db8::1", None));
        assert_eq!(p("2001:db8::1:80"), v4("2001:db8::1:80", None));
        assert_eq!(p("127.0.0.1:65535"), v4("127.0.0.1", Some(65535)));
        for bad in [
            "80",
            "",
            "1.2.3.4:",
            "1.2.3.4:65536",
            "[2001:db8::1]",
            "[2001:db8::1]80",
            "[::1",
            "1.2.3.4.5:80",
            "1.2.3.4:0x50",
            "::ffff:1.2.3.4:80",
            "1.2.3.4:80 ",
            "1.2.3.4:no-such-service-xyz",
        ] {
            assert_eq!(p(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn names_resolve_like_ipvsadm() {
        let lo = parse_service("localhost:80", Some(Protocol::Tcp)).unwrap();
        assert_eq!(lo.addr, IpAddr::V4(Ipv4Addr::LOCALHOST));
        if std::path::Path::new("/etc/services").exists() {
            let h = parse_service("1.2.3.4:http", Some(Protocol::Tcp)).unwrap();
            assert_eq!(h.port, Some(80));
            // Without a protocol (-r before -t), names are not ports.
            assert_eq!(parse_service("1.2.3.4:http", None), None);
        }
    }

    #[test]
    fn fwmarks() {
        assert_eq!(parse_fwmark("1"), Some(1));
        assert_eq!(parse_fwmark(" 5"), Some(5));
        assert_eq!(parse_fwmark("+6"), Some(6));
        assert_eq!(parse_fwmark("4294967295"), Some(u32::MAX));
        for bad in ["0", "-1", "4294967296", "5x", ""] {
            assert_eq!(parse_fwmark(bad), None, "{bad}");
        }
    }

    #[test]
    fn mcast_groups() {
        assert!(parse_mcast_group("224.0.0.81").is_ok());
        assert!(parse_mcast_group("ff02::1").is_ok());
        assert_eq!(parse_mcast_group("1.2.3.4"), Err(false));
        assert_eq!(parse_mcast_group("zz::"), Err(true));
        assert_eq!(parse_mcast_group("2001:db8::1"), Err(true));
    }

    #[test]
    fn library_checks_in_ipvsadm_words() {
        use ipvs::{Destination, Service, ServiceKey};
        let key = ServiceKey::tcp("192.0.2.1".parse().unwrap(), 0);
        let e = Service::new(key).validate().unwrap_err();
        assert_eq!(
            ipvsadm_message(&e).unwrap(),
            "Zero port specified for non-persistent service"
        );
        let v6 = Destination::new("2001:db8::1".parse().unwrap(), 80);
        let e = v6.validate(&key).unwrap_err();
        assert_eq!(
            ipvsadm_message(&e).unwrap(),
            "Different address family is allowed only for tunneling servers"
        );
        let heavy = Destination::new("192.0.2.2".parse().unwrap(), 80).with_weight(u32::MAX);
        let e = heavy.validate(&key).unwrap_err();
        assert_eq!(ipvsadm_message(&e).unwrap(), "illegal weight specified");
        assert_eq!(
            ipvsadm_message(&InvalidValue::PersistenceTimeout(0)).unwrap(),
            "invalid timeout value `0' specified"
        );
        // ipvsadm leaves these to the kernel: no words of its own.
        assert_eq!(
            ipvsadm_message(&InvalidValue::ThresholdOrder { lower: 2, upper: 1 }),
            None
        );
    }
}
