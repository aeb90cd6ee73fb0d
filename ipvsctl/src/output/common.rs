//! Pieces shared by the text formats: printf-style padding, ipvsadm's number
//! and address formatting, and the words it uses for protocols, forwarding
//! methods, tunnels and scheduler flags.

use std::net::{IpAddr, Ipv4Addr};

use ipvs::{
    Forward, Netmask, Protocol, Service, ServiceFlag, ServiceFlags, TunnelFlags, TunnelType,
};

use super::bytes::{cut_from, push_ntop, push_str, push_u64, push_u64_right};
use super::names::Names;

/// Size of ipvsadm's `addrport_to_anyname` buffer: its `snprintf` keeps at
/// most this many bytes minus the NUL.
const ADDRPORT_BUF: usize = 60;

/// Appends `s` left-aligned in `width` bytes, like printf's `%-Ns` (which
/// counts bytes, not characters).
pub(crate) fn pad(out: &mut String, s: &str, width: usize) {
    out.push_str(s);
    for _ in s.len()..width {
        out.push(' ');
    }
}

/// Cuts `s` to at most `max` bytes, as ipvsadm does by writing a NUL into its
/// buffer. The cut moves back to a character boundary rather than split one.
pub(crate) fn truncate_bytes(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

/// ipvsadm's `print_largenum`: a counter in a 9-byte column, shortened with
/// K/M/G/T above 99,999,999 unless `exact`, where the column grows to fit.
pub(crate) fn largenum(out: &mut Vec<u8>, n: u64, exact: bool) {
    if exact {
        // `%*lu` with a width of 9, or one more than the digits: a space and then at least 8.
        out.push(b' ');
        push_u64_right(out, n, 8);
        return;
    }
    let (n, suffix) = match n {
        0..=99_999_999 => return push_u64_right(out, n, 9),
        100_000_000..=999_999_999 => (n / 1_000, b'K'),
        1_000_000_000..=99_999_999_999 => (n / 1_000_000, b'M'),
        100_000_000_000..=99_999_999_999_999 => (n / 1_000_000_000, b'G'),
        _ => (n / 1_000_000_000_000, b'T'),
    };
    push_u64_right(out, n, 8);
    out.push(suffix);
}

/// The name ipvsadm's port look-up uses for a protocol (`getservbyport`'s
/// second argument); other protocols never get port names.
pub(crate) fn proto_db_name(p: Protocol) -> Option<&'static str> {
    p.name()
}

/// ipvsadm's `addrport_to_anyname`: `addr:port`, `[v6addr]:port`; without
/// `numeric` the host and service names where they exist. `proto` is the
/// services-database protocol (`None`: the port stays a number). The result is
/// cut to 59 bytes like ipvsadm's buffer.
pub(crate) fn addrport(
    names: &dyn Names,
    addr: IpAddr,
    port: u16,
    proto: Option<&str>,
    numeric: bool,
) -> String {
    let mut out = Vec::with_capacity(24);
    push_addrport(&mut out, names, addr, port, proto, numeric);
    // Written from strings and digits only: always UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// [`addrport`] appended to `out`.
pub(crate) fn push_addrport(
    out: &mut Vec<u8>,
    names: &dyn Names,
    addr: IpAddr,
    port: u16,
    proto: Option<&str>,
    numeric: bool,
) {
    let start = out.len();
    let v6 = !addr.is_ipv4();
    if v6 {
        out.push(b'[');
    }
    match (numeric, names_host(names, addr, numeric)) {
        (false, Some(host)) => push_str(out, &host),
        _ => push_ntop(out, addr),
    }
    if v6 {
        out.push(b']');
    }
    out.push(b':');
    match proto
        .filter(|_| !numeric)
        .and_then(|p| names.service(port, p))
    {
        Some(serv) => push_str(out, &serv),
        None => push_u64(out, u64::from(port)),
    }
    cut_from(out, start, ADDRPORT_BUF - 1);
}

/// The host name of `addr`, asked only without `-n`.
fn names_host(names: &dyn Names, addr: IpAddr, numeric: bool) -> Option<String> {
    if numeric {
        None
    } else {
        names.host(addr)
    }
}

/// ipvsadm's `protocol_name`: the listing's protocol column.
pub(crate) fn protocol_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "TCP",
        Protocol::Udp => "UDP",
        Protocol::Sctp => "SCTP",
        _ => "?",
    }
}

/// A fwmark as ipvsadm 1.31 prints it: with `%d`, so marks above 2^31 come
/// out negative. (Upstream later switched to `%u`; Debian's 1.31 has `%d`.)
pub(crate) fn fwmark_str(mark: u32) -> String {
    // Reinterpreting the bits is the point: this is C's `%d` of an unsigned.
    (mark as i32).to_string()
}

/// The forwarding method number (`IP_VS_CONN_F_FWD_MASK` bits).
fn fwd_number(f: &Forward) -> u32 {
    f.number()
}

/// ipvsadm's `fwd_name`: the listing's Forward column. Methods it has no word
/// for print as glibc prints a NULL string.
pub(crate) fn fwd_name(f: &Forward) -> &'static str {
    match fwd_number(f) {
        0 => "Masq",
        1 => "Local",
        2 => "Tunnel",
        3 => "Route",
        _ => "(null)",
    }
}

/// ipvsadm's `fwd_switch`: the `-S` option for a forwarding method.
pub(crate) fn fwd_switch(f: &Forward) -> &'static str {
    match fwd_number(f) {
        0 => "-m",
        2 => "-i",
        1 | 3 => "-g",
        _ => "(null)",
    }
}

/// Which of ipvsadm's three checksum choices a set of tunnel flags is.
/// ipvsadm indexes a 3-entry table with the raw value (0, 1 or 2); other
/// values are out of its table, so here remote checksum wins, then checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checksum {
    /// No checksum (`-c`, `--tun-nocsum`).
    Off,
    /// Checksum (`+c`, `--tun-csum`).
    On,
    /// Remote checksum offload (`r+c`, `--tun-remcsum`).
    Remote,
}

impl Checksum {
    pub(crate) fn of(flags: TunnelFlags) -> Self {
        if flags.contains(TunnelFlags::REMCSUM) {
            Checksum::Remote
        } else if flags.contains(TunnelFlags::CSUM) {
            Checksum::On
        } else {
            Checksum::Off
        }
    }
    /// The `--tun-info` word.
    pub(crate) fn info(self) -> &'static str {
        match self {
            Checksum::Off => "-c",
            Checksum::On => "+c",
            Checksum::Remote => "r+c",
        }
    }
    /// The `-S` option.
    pub(crate) fn option(self) -> &'static str {
        match self {
            Checksum::Off => "--tun-nocsum",
            Checksum::On => "--tun-csum",
            Checksum::Remote => "--tun-remcsum",
        }
    }
}

/// ipvsadm's `fwd_tun_info`: `ipip`, `gue:PORT:CSUM`, `gre:CSUM`, or `None`
/// (printed as `n/a`) for other methods and unknown tunnel types.
pub(crate) fn tun_info(f: &Forward) -> Option<String> {
    match f {
        Forward::Tunnel { kind, port, flags } => match kind {
            TunnelType::Ipip => Some("ipip".to_string()),
            TunnelType::Gue => Some(format!("gue:{port}:{}", Checksum::of(*flags).info())),
            TunnelType::Gre => Some(format!("gre:{}", Checksum::of(*flags).info())),
            _ => None,
        },
        _ => None,
    }
}

/// The three scheduler flag bits.
pub(crate) const SCHED_BITS: ServiceFlags = ServiceFlags::SCHEDULER;

/// ipvsadm's `print_sched_flags`: the scheduler flags by the words the
/// library gives them for the scheduler ([`ipvs::Scheduler::flag_words`]:
/// `sh-fallback,sh-port` for sh, `mh-...` for mh, `flag-N` for the others),
/// comma-separated. For sh and mh the third flag has no name of its own and
/// is left out, as ipvsadm does.
pub(crate) fn sched_flags(svc: &Service) -> String {
    let words = svc.scheduler.flag_words();
    let named = words[0] != ServiceFlag::Flag1;
    words
        .iter()
        .filter(|w| svc.flags.contains(w.bit()) && !(named && **w == ServiceFlag::Flag3))
        .map(|w| w.word())
        .collect::<Vec<_>>()
        .join(",")
}

/// The persistence netmask when it is not the full one (which ipvsadm does
/// not print): a dotted quad for IPv4, a prefix length for IPv6.
pub(crate) fn partial_netmask(m: Netmask) -> Option<String> {
    match m {
        Netmask::V4(a) if a != Ipv4Addr::BROADCAST => Some(a.to_string()),
        Netmask::V6(p) if p != 128 => Some(p.to_string()),
        _ => None,
    }
}

/// The persistence engine name, if one is set (an empty name is none).
pub(crate) fn pe_name(svc: &Service) -> Option<&str> {
    svc.persistence_engine.as_deref().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ln(n: u64, exact: bool) -> String {
        let mut s = Vec::new();
        largenum(&mut s, n, exact);
        String::from_utf8(s).unwrap()
    }

    #[test]
    fn largenum_thresholds_match_print_largenum() {
        assert_eq!(ln(0, false), "        0");
        assert_eq!(ln(99_999_999, false), " 99999999");
        assert_eq!(ln(100_000_000, false), "  100000K");
        assert_eq!(ln(999_999_999, false), "  999999K");
        assert_eq!(ln(1_000_000_000, false), "    1000M");
        assert_eq!(ln(99_999_999_999, false), "   99999M");
        assert_eq!(ln(100_000_000_000, false), "     100G");
        assert_eq!(ln(99_999_999_999_999, false), "   99999G");
        assert_eq!(ln(100_000_000_000_000, false), "     100T");
        assert_eq!(ln(u64::MAX, false), "18446744T");
    }

    #[test]
    fn largenum_exact_grows_the_column() {
        assert_eq!(ln(5, true), "        5");
        assert_eq!(ln(12_345_678, true), " 12345678");
        assert_eq!(ln(123_456_789, true), " 123456789");
        assert_eq!(ln(u64::MAX, true), " 18446744073709551615");
    }

    fn v6(s: &str) -> String {
        ipvs::addr::Ntop::new(s.parse::<IpAddr>().unwrap()).to_string()
    }

    #[test]
    fn ntop6_matches_glibc() {
        assert_eq!(v6("::"), "::");
        assert_eq!(v6("::1"), "::1");
        assert_eq!(v6("2001:db8::1"), "2001:db8::1");
        assert_eq!(v6("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
        assert_eq!(v6("2001:0:0:1:0:0:0:1"), "2001:0:0:1::1");
        assert_eq!(v6("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2:3:4:5:6");
        assert_eq!(v6("2001:db8:0:1:2:3:4:5"), "2001:db8:0:1:2:3:4:5");
        assert_eq!(v6("fe80::"), "fe80::");
        assert_eq!(v6("::ffff:10.1.2.3"), "::ffff:10.1.2.3");
        // IPv4-compatible: glibc keeps the dotted quad, Rust's Display does not.
        assert_eq!(v6("::10.1.2.3"), "::10.1.2.3");
        assert_eq!(v6("::0.0.0.2"), "::2");
        assert_eq!(v6("::ffff:0:0"), "::ffff:0.0.0.0");
        assert_eq!(v6("1::"), "1::");
        assert_eq!(v6("0:0:0:0:0:1:0:0"), "::1:0:0");
        assert_eq!(v6("::1:0:0:0:1"), "::1:0:0:0:1");
    }

    #[test]
    fn pad_and_truncate_count_bytes() {
        let mut s = String::new();
        pad(&mut s, "ab", 5);
        assert_eq!(s, "ab   ");
        let mut s = String::new();
        pad(&mut s, "abcdef", 3);
        assert_eq!(s, "abcdef");
        let mut t = "héllo".to_string();
        truncate_bytes(&mut t, 2);
        assert_eq!(t, "h");
        let mut t = "hello".to_string();
        truncate_bytes(&mut t, 3);
        assert_eq!(t, "hel");
    }

    #[test]
    fn fwmark_prints_like_percent_d() {
        assert_eq!(fwmark_str(7), "7");
        assert_eq!(fwmark_str(u32::MAX), "-1");
        assert_eq!(fwmark_str(0x8000_0000), "-2147483648");
    }

    #[test]
    fn forwarding_words() {
        assert_eq!(fwd_name(&Forward::Masquerade), "Masq");
        assert_eq!(fwd_name(&Forward::Local), "Local");
        assert_eq!(fwd_name(&Forward::ipip()), "Tunnel");
        assert_eq!(fwd_name(&Forward::DirectRoute), "Route");
        assert_eq!(fwd_name(&Forward::Bypass), "(null)");
        assert_eq!(fwd_name(&Forward::Other { raw: 0 }), "Masq");
        assert_eq!(fwd_switch(&Forward::Local), "-g");
        assert_eq!(fwd_switch(&Forward::Bypass), "(null)");
    }
}
