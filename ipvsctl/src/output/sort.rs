//! ipvsadm's order of services and destinations.
//!
//! ipvsadm sorts with glibc `qsort` and libipvs's `ipvs_cmp_services` /
//! `ipvs_cmp_dests`. Those comparators subtract unsigned 32-bit values and
//! read the result as a signed `int`, so they wrap: for instance 10.0.0.1
//! sorts *after* 200.0.0.1, because `0x0a000001 - 0xc8000001` is positive as
//! an `int`. Such a comparator is not a total order, so the result depends on
//! the sorting algorithm too. glibc's `qsort` is a top-down merge sort
//! (`msort_with_tmp`; only for arrays too large for a temporary buffer does it
//! fall back to another algorithm), and [`c_sorted`] is that merge sort, step
//! for step. Rust's own sorts may panic on a comparator that is not a total
//! order, and would order these cases differently anyway.

use std::net::IpAddr;

use ipvs::{DestinationEntry, Family, ServiceEntry, ServiceKey, VirtualServer};

const AF_INET: i32 = 2;
const AF_INET6: i32 = 10;

/// Sorts references to `items` with a C-style comparator (negative, zero,
/// positive) exactly as glibc's merge sort does: stable, left element first
/// when the comparator returns zero or less.
pub(crate) fn c_sorted<T>(items: &[T], cmp: impl Fn(&T, &T) -> i32) -> Vec<&T> {
    let mut v: Vec<&T> = items.iter().collect();
    let mut tmp: Vec<&T> = Vec::with_capacity(v.len());
    msort(&mut v, &mut tmp, &|a: &&T, b: &&T| cmp(a, b));
    v
}

fn msort<T: Copy>(b: &mut [T], tmp: &mut Vec<T>, cmp: &impl Fn(&T, &T) -> i32) {
    let n = b.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    msort(&mut b[..n1], tmp, cmp);
    msort(&mut b[n1..], tmp, cmp);

    tmp.clear();
    let (mut i, mut j) = (0, n1);
    while i < n1 && j < n {
        if cmp(&b[i], &b[j]) <= 0 {
            tmp.push(b[i]);
            i += 1;
        } else {
            tmp.push(b[j]);
            j += 1;
        }
    }
    // What is left of the first half goes after the merged part; what is
    // left of the second half is already in place at the end.
    tmp.extend_from_slice(&b[i..n1]);
    b[..tmp.len()].copy_from_slice(tmp);
}

/// [`c_sorted`] as positions: fills `order` with the indices of `items` in the order
/// glibc's merge sort gives them, reusing `order` and `tmp` (a listing sorts each service's
/// destinations in the same two lists).
pub(crate) fn c_sort_order<T>(
    items: &[T],
    cmp: impl Fn(&T, &T) -> i32,
    order: &mut Vec<usize>,
    tmp: &mut Vec<usize>,
) {
    order.clear();
    order.extend(0..items.len());
    msort(order, tmp, &|a: &usize, b: &usize| {
        cmp(&items[*a], &items[*b])
    });
}

/// An address as libipvs holds it: `union nf_inet_addr` read as four
/// host-order words (an IPv4 address is the first word, the rest zero).
fn words(addr: &IpAddr) -> [u32; 4] {
    match addr {
        IpAddr::V4(a) => [u32::from(*a), 0, 0, 0],
        IpAddr::V6(a) => {
            let s = a.segments();
            [
                u32::from(s[0]) << 16 | u32::from(s[1]),
                u32::from(s[2]) << 16 | u32::from(s[3]),
                u32::from(s[4]) << 16 | u32::from(s[5]),
                u32::from(s[6]) << 16 | u32::from(s[7]),
            ]
        }
    }
}

fn af(f: Family) -> i32 {
    match f {
        Family::Inet => AF_INET,
        Family::Inet6 => AF_INET6,
    }
}

/// C's `int r = (u32)a - (u32)b`.
fn wrap_diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// ipvsadm's address comparison: all four words for IPv6 (by the first
/// entry's family), the first word otherwise.
fn cmp_addr(first_af: i32, a: &[u32; 4], b: &[u32; 4]) -> i32 {
    if first_af == AF_INET6 {
        a.iter()
            .zip(b)
            .map(|(x, y)| wrap_diff(*x, *y))
            .find(|r| *r != 0)
            .unwrap_or(0)
    } else {
        wrap_diff(a[0], b[0])
    }
}

/// What libipvs compares of a service: fwmark, family, protocol, address words, port.
type ServiceFields = (u32, i32, i32, [u32; 4], i32);

/// The fields of a service that libipvs compares: fwmark (0 for address
/// services), family, protocol (0 for fwmark services), address (zero for
/// fwmark services) and port.
fn service_fields(k: &ServiceKey) -> ServiceFields {
    match k {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => (
            0,
            af(k.family()),
            i32::from(protocol.number()),
            words(addr),
            i32::from(*port),
        ),
        ServiceKey::Fwmark { fwmark, family } => (*fwmark, af(*family), 0, [0; 4], 0),
    }
}

/// libipvs `ipvs_cmp_services`.
pub(crate) fn cmp_services(a: &ServiceKey, b: &ServiceKey) -> i32 {
    cmp_service_fields(&service_fields(a), &service_fields(b))
}

/// [`cmp_services`] of the fields of two keys.
fn cmp_service_fields(a: &ServiceFields, b: &ServiceFields) -> i32 {
    let (fa, afa, pa, wa, porta) = *a;
    let (fb, afb, pb, wb, portb) = *b;
    let r = wrap_diff(fa, fb);
    if r != 0 {
        return r;
    }
    let r = afa - afb;
    if r != 0 {
        return r;
    }
    let r = pa - pb;
    if r != 0 {
        return r;
    }
    let r = cmp_addr(afa, &wa, &wb);
    if r != 0 {
        return r;
    }
    porta - portb
}

/// What libipvs compares of a destination: family (of the first one compared), address
/// words, port.
type DestFields = (i32, [u32; 4], i32);

fn dest_fields(e: &DestinationEntry) -> DestFields {
    let d = &e.destination;
    (af(d.family()), words(&d.addr), i32::from(d.port))
}

/// libipvs `ipvs_cmp_dests`: address (by the first destination's family),
/// then port. The family itself is not compared.
pub(crate) fn cmp_dests(a: &DestinationEntry, b: &DestinationEntry) -> i32 {
    cmp_dest_fields(&dest_fields(a), &dest_fields(b))
}

/// [`cmp_dests`] of the fields of two destinations.
fn cmp_dest_fields(a: &DestFields, b: &DestFields) -> i32 {
    let r = cmp_addr(a.0, &a.1, &b.1);
    if r != 0 {
        return r;
    }
    a.2 - b.2
}

/// The positions of `services` in ipvsadm's order, or as given when `sort` is false.
pub(crate) fn service_order(services: &[&ServiceEntry], sort: bool) -> Vec<usize> {
    let mut order = Vec::with_capacity(services.len());
    if sort {
        // The fields are taken once, not at each comparison.
        let fields: Vec<ServiceFields> = services
            .iter()
            .map(|e| service_fields(&e.service.key))
            .collect();
        let mut tmp = Vec::with_capacity(services.len());
        c_sort_order(&fields, cmp_service_fields, &mut order, &mut tmp);
    } else {
        order.extend(0..services.len());
    }
    order
}

/// Fills `order` with the positions of `dests` in ipvsadm's order, or as given when `sort` is
/// false; `tmp` is the merge's room, kept between calls.
pub(crate) fn dest_order(
    dests: &[DestinationEntry],
    sort: bool,
    order: &mut Vec<usize>,
    tmp: &mut Vec<usize>,
) {
    if sort && dests.len() <= 16 {
        // A few destinations: fewer comparisons than would pay for a list of their fields.
        c_sort_order(dests, cmp_dests, order, tmp);
    } else if sort {
        // The fields are taken once, not at each comparison: a big service's destinations
        // are compared about 12 times each.
        let fields: Vec<DestFields> = dests.iter().map(dest_fields).collect();
        c_sort_order(&fields, cmp_dest_fields, order, tmp);
    } else {
        order.clear();
        order.extend(0..dests.len());
    }
}

/// The services in ipvsadm's order, or as given when `sort` is false.
pub(crate) fn services(servers: &[VirtualServer], sort: bool) -> Vec<&VirtualServer> {
    if sort {
        c_sorted(servers, |a, b| {
            cmp_services(&a.entry.service.key, &b.entry.service.key)
        })
    } else {
        servers.iter().collect()
    }
}

/// A service's destinations in ipvsadm's order, or as given when `sort` is false.
pub(crate) fn dests(dests: &[DestinationEntry], sort: bool) -> Vec<&DestinationEntry> {
    if sort {
        c_sorted(dests, cmp_dests)
    } else {
        dests.iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipvs::Protocol;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn c_sorted_is_stable_and_handles_small_inputs() {
        let empty: [i32; 0] = [];
        assert!(c_sorted(&empty, |a, b| a - b).is_empty());
        let v = [(1, 'a'), (0, 'b'), (1, 'c'), (0, 'd'), (2, 'e')];
        let s: Vec<char> = c_sorted(&v, |a, b| a.0 - b.0)
            .into_iter()
            .map(|x| x.1)
            .collect();
        assert_eq!(s, vec!['b', 'd', 'a', 'c', 'e']);
    }

    #[test]
    fn c_sorted_sorts_many_values() {
        let v: Vec<i32> = (0..1000).map(|i| (i * 7919) % 1000).collect();
        let s: Vec<i32> = c_sorted(&v, |a, b| a - b).into_iter().copied().collect();
        let expect: Vec<i32> = (0..1000).collect();
        assert_eq!(s, expect);
    }

    #[test]
    fn positions_give_the_order_of_references_even_for_a_wrapping_comparator() {
        // Addresses whose C differences wrap: not a total order, so only the same merge sort,
        // step for step, gives the same result.
        let v: Vec<u32> = (0u32..500)
            .map(|i| i.wrapping_mul(0x9e37_79b9) ^ (i << 7))
            .collect();
        let cmp = |a: &u32, b: &u32| wrap_diff(*a, *b);
        let by_ref: Vec<u32> = c_sorted(&v, cmp).into_iter().copied().collect();
        let (mut order, mut tmp) = (vec![7, 7], Vec::new());
        c_sort_order(&v, cmp, &mut order, &mut tmp);
        let by_pos: Vec<u32> = order.iter().map(|i| v[*i]).collect();
        assert_eq!(by_pos, by_ref);
        c_sort_order(&v[..3], cmp, &mut order, &mut tmp);
        assert_eq!(order.len(), 3);
    }

    #[test]
    fn dest_order_of_many_is_the_comparators_order_even_when_it_wraps() {
        // Above 16 destinations the order comes from fields taken once: the same merge sort
        // on the same comparisons, mixed families and wrapping differences included.
        let dests: Vec<DestinationEntry> = (0u32..300)
            .map(|i| {
                let addr = if i % 7 == 0 {
                    IpAddr::V6(std::net::Ipv6Addr::new(
                        0x2001, 0xdb8, 0, 0, 0, 0, 0, i as u16,
                    ))
                } else {
                    IpAddr::V4(std::net::Ipv4Addr::from(i.wrapping_mul(0x9e37_79b9)))
                };
                DestinationEntry {
                    destination: ipvs::Destination::new(addr, (i % 5) as u16 * 1000),
                    ..DestinationEntry::default()
                }
            })
            .collect();
        for n in [0, 1, 16, 17, 300] {
            let (mut order, mut tmp) = (Vec::new(), Vec::new());
            dest_order(&dests[..n], true, &mut order, &mut tmp);
            let by_order: Vec<_> = order.iter().map(|i| &dests[*i]).collect();
            assert_eq!(
                by_order,
                c_sorted(&dests[..n], cmp_dests),
                "{n} destinations"
            );
        }
    }

    #[test]
    fn service_order_is_fwmark_family_protocol_address_port() {
        let keys = [
            ServiceKey::fwmark(8, Family::Inet6),
            ServiceKey::tcp(ip("2001:db8::1"), 443),
            ServiceKey::sctp(ip("10.1.1.2"), 5000),
            ServiceKey::udp(ip("10.1.1.1"), 53),
            ServiceKey::fwmark(7, Family::Inet),
            ServiceKey::tcp(ip("10.1.1.3"), 80),
            ServiceKey::tcp(ip("10.1.1.1"), 80),
            ServiceKey::tcp(ip("10.1.1.1"), 22),
        ];
        let sorted = c_sorted(&keys, cmp_services);
        let expect = [
            ServiceKey::tcp(ip("10.1.1.1"), 22),
            ServiceKey::tcp(ip("10.1.1.1"), 80),
            ServiceKey::tcp(ip("10.1.1.3"), 80),
            ServiceKey::udp(ip("10.1.1.1"), 53),
            ServiceKey::sctp(ip("10.1.1.2"), 5000),
            ServiceKey::tcp(ip("2001:db8::1"), 443),
            ServiceKey::fwmark(7, Family::Inet),
            ServiceKey::fwmark(8, Family::Inet6),
        ];
        assert_eq!(sorted.into_iter().copied().collect::<Vec<_>>(), expect);
    }

    #[test]
    fn address_comparison_wraps_like_c() {
        // 0x0a000001 - 0xc8000001 = 0x42000000: positive as an int.
        let a = ServiceKey::tcp(ip("10.0.0.1"), 80);
        let b = ServiceKey::tcp(ip("200.0.0.1"), 80);
        assert!(cmp_services(&a, &b) > 0);
        assert!(cmp_services(&b, &a) < 0);
        // Close addresses compare as expected.
        let c = ServiceKey::tcp(ip("10.0.0.2"), 80);
        assert!(cmp_services(&a, &c) < 0);
        let all = [a, b, c];
        let sorted = c_sorted(&all, cmp_services);
        assert_eq!(sorted, vec![&b, &a, &c]);
        // An unknown protocol number sorts by its number.
        let o = ServiceKey::Addr {
            protocol: Protocol::Other(50),
            addr: ip("10.0.0.1"),
            port: 0,
        };
        assert!(cmp_services(&o, &a) > 0);
        // Fwmarks wrap too: mark 1 and mark 0x80000002 differ by more than 2^31.
        let m1 = ServiceKey::fwmark(1, Family::Inet);
        let m2 = ServiceKey::fwmark(0x8000_0002, Family::Inet);
        assert!(cmp_services(&m1, &m2) > 0);
    }

    fn dest(addr: &str, port: u16) -> DestinationEntry {
        DestinationEntry {
            destination: ipvs::Destination::new(ip(addr), port),
            active_conns: 0,
            inactive_conns: 0,
            persistent_conns: 0,
            stats: ipvs::Stats::default(),
        }
    }

    #[test]
    fn destination_order_is_address_then_port() {
        let d = [
            dest("10.2.2.5", 80),
            dest("10.2.2.2", 8080),
            dest("10.2.2.3", 80),
            dest("10.2.2.3", 22),
        ];
        let s: Vec<(IpAddr, u16)> = dests(&d, true)
            .into_iter()
            .map(|e| (e.destination.addr, e.destination.port))
            .collect();
        assert_eq!(
            s,
            vec![
                (ip("10.2.2.2"), 8080),
                (ip("10.2.2.3"), 22),
                (ip("10.2.2.3"), 80),
                (ip("10.2.2.5"), 80)
            ]
        );
        let unsorted: Vec<u16> = dests(&d, false)
            .into_iter()
            .map(|e| e.destination.port)
            .collect();
        assert_eq!(unsorted, vec![80, 8080, 80, 22]);
    }

    #[test]
    fn mixed_family_destinations_compare_by_first_family() {
        // A v6 first entry compares all four words: 10.0.0.1 is [0x0a000001, 0, 0, 0].
        let v6 = dest("2001:db8::1", 80);
        let v4 = dest("10.0.0.1", 80);
        assert_eq!(cmp_dests(&v6, &v4), wrap_diff(0x2001_0db8, 0x0a00_0001));
        assert_eq!(cmp_dests(&v4, &v6), wrap_diff(0x0a00_0001, 0x2001_0db8));
    }
}
