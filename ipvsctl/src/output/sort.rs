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

/// Whether values from `min` to `max` (none when `max < min`) all lie within 2^31 of each
/// other: then C's wrapping difference of any two has the sign of their true difference.
fn within_2_31(min: u32, max: u32) -> bool {
    max < min || max - min < 1 << 31
}

/// The smallest and largest value of each address word of a set of addresses, to tell whether
/// ipvsadm's comparisons of them can wrap.
struct Spans {
    min: [u32; 4],
    max: [u32; 4],
}

impl Spans {
    fn new() -> Self {
        Spans {
            min: [u32::MAX; 4],
            max: [0; 4],
        }
    }

    fn add(&mut self, w: &[u32; 4]) {
        for ((min, max), w) in self.min.iter_mut().zip(&mut self.max).zip(w) {
            (*min, *max) = ((*min).min(*w), (*max).max(*w));
        }
    }

    /// Whether no two of the words added differ by 2^31 or more at any position: then C's
    /// wrapping difference of any two has the sign of their true difference, and ipvsadm's
    /// comparator orders them as the words' values do. (Nothing added: true.)
    fn no_wrap(&self) -> bool {
        (0..4).all(|k| within_2_31(self.min[k], self.max[k]))
    }
}

/// An address's words as one number: the order of the words compared one by one, first to last.
fn addr_value(w: &[u32; 4]) -> u128 {
    u128::from(w[0]) << 96 | u128::from(w[1]) << 64 | u128::from(w[2]) << 32 | u128::from(w[3])
}

/// What [`cmp_service_fields`] compares, as a key whose natural order is the comparator's when
/// no comparison wraps ([`service_keys`]).
/// The last field is the service's position.
type ServiceSortKey = (u32, i32, i32, u128, i32, u32);

/// The services' sort keys when ipvsadm's comparator orders them as the keys do: no fwmark and
/// no address word (among the addresses of one family, the only ones it compares) differs from
/// another by 2^31 or more. `None` otherwise: then only glibc's merge sort, step for step, gives
/// ipvsadm's order.
fn service_keys(fields: &[ServiceFields]) -> Option<Vec<ServiceSortKey>> {
    let (mut v4, mut v6) = (Spans::new(), Spans::new());
    let (mut mark_min, mut mark_max) = (u32::MAX, 0);
    for (mark, af, _, words, _) in fields {
        mark_min = mark_min.min(*mark);
        mark_max = mark_max.max(*mark);
        if *mark != 0 {
            // Services of different marks are not compared further; of one mark, their
            // addresses are all zero.
            continue;
        }
        if *af == AF_INET6 {
            v6.add(words);
        } else {
            // Only the first word of others is compared (the rest are zero).
            v4.add(&[words[0], 0, 0, 0]);
        }
    }
    let marks_ok = within_2_31(mark_min, mark_max);
    if !(marks_ok && v4.no_wrap() && v6.no_wrap()) || u32::try_from(fields.len()).is_err() {
        return None;
    }
    let key = |(i, (mark, af, proto, words, port)): (usize, &ServiceFields)| {
        let addr = if *af == AF_INET6 {
            addr_value(words)
        } else {
            addr_value(&[words[0], 0, 0, 0])
        };
        // Below u32::MAX (checked above).
        (*mark, *af, *proto, addr, *port, i as u32)
    };
    Some(fields.iter().enumerate().map(key).collect())
}

/// The bits of a [`packed_service_keys`] key that hold the service's position.
const POSITION: u128 = (1 << 28) - 1;

/// [`service_keys`] in one number each, for tables without IPv6 address services (the usual
/// ones): fwmark (32 bits), family (4), protocol (16), IPv4 address (32), port (16), position
/// (28), each field at or below its width, so that the numbers' order is the fields'. `None`
/// for a table with IPv6 address services, of more positions than 28 bits hold, or whose
/// comparisons can wrap.
fn packed_service_keys(services: &[&ServiceEntry]) -> Option<Vec<u128>> {
    if services.len() > POSITION as usize {
        return None;
    }
    let mut keys = Vec::with_capacity(services.len());
    let (mut mark_min, mut mark_max) = (u32::MAX, 0);
    let (mut addr_min, mut addr_max) = (u32::MAX, 0);
    for (i, e) in services.iter().enumerate() {
        let (mark, af, proto, words, port) = service_fields(&e.service.key);
        (mark_min, mark_max) = (mark_min.min(mark), mark_max.max(mark));
        if mark == 0 {
            if af == AF_INET6 {
                return None;
            }
            (addr_min, addr_max) = (addr_min.min(words[0]), addr_max.max(words[0]));
        }
        // The family is AF_INET or AF_INET6 (below 16), the protocol and port u16 numbers.
        let fields = [
            (af as u128, 4),
            (proto as u128, 16),
            (u128::from(words[0]), 32),
        ];
        let mut k = u128::from(mark);
        for (v, bits) in fields {
            k = k << bits | v;
        }
        keys.push((k << 16 | port as u128) << 28 | i as u128);
    }
    (within_2_31(mark_min, mark_max) && within_2_31(addr_min, addr_max)).then_some(keys)
}

/// The positions of `services` in ipvsadm's order, or as given when `sort` is false.
pub(crate) fn service_order(services: &[&ServiceEntry], sort: bool) -> Vec<usize> {
    let mut order = Vec::with_capacity(services.len());
    if sort {
        if let Some(mut keys) = packed_service_keys(services) {
            keys.sort_unstable();
            order.extend(keys.iter().map(|k| (k & POSITION) as usize));
            return order;
        }
        // The fields are taken once, not at each comparison.
        let fields: Vec<ServiceFields> = services
            .iter()
            .map(|e| service_fields(&e.service.key))
            .collect();
        if let Some(mut keys) = service_keys(&fields) {
            // Sorted with their positions, which tell equal keys apart in the order given: the
            // order of a merge sort with a comparator that is a total order on them.
            keys.sort_unstable();
            order.extend(keys.iter().map(|k| k.5 as usize));
        } else {
            let mut tmp = Vec::with_capacity(services.len());
            c_sort_order(&fields, cmp_service_fields, &mut order, &mut tmp);
        }
    } else {
        order.extend(0..services.len());
    }
    order
}

/// Whether ipvsadm's comparator orders `dests` as their address words (as one number) and
/// ports do: all of one family (the comparator reads the words of the first one's family), no
/// address word differing from another's by 2^31 or more.
fn keys_order(dests: &[DestinationEntry]) -> bool {
    let Some(first) = dests.first() else {
        return true;
    };
    let v6 = !first.destination.addr.is_ipv4();
    let mut spans = Spans::new();
    for e in dests {
        let addr = &e.destination.addr;
        if addr.is_ipv4() == v6 {
            return false;
        }
        spans.add(&words(addr));
    }
    spans.no_wrap()
}

/// Fills `order` with the positions of `dests` in ipvsadm's order, or as given when `sort` is
/// false; `keys` is room for their sort keys, kept between calls.
pub(crate) fn dest_order(
    dests: &[DestinationEntry],
    sort: bool,
    order: &mut Vec<usize>,
    keys: &mut Vec<u64>,
) {
    order.clear();
    if !sort {
        order.extend(0..dests.len());
        return;
    }
    if v4_keys(dests, keys) {
        keys.sort_unstable();
        order.extend(keys.iter().map(|k| (k & 0xffff) as usize));
    } else if keys_order(dests) {
        // The same with IPv6 addresses, or more positions than 16 bits hold.
        let mut keys: Vec<(u128, u16, usize)> = dests
            .iter()
            .enumerate()
            .map(|(i, e)| {
                (
                    addr_value(&words(&e.destination.addr)),
                    e.destination.port,
                    i,
                )
            })
            .collect();
        keys.sort_unstable();
        order.extend(keys.iter().map(|k| k.2));
    } else {
        // The comparator's own order, the fields taken once, not at each comparison (a big
        // service's destinations are compared about 12 times each).
        let fields: Vec<DestFields> = dests.iter().map(dest_fields).collect();
        let mut tmp = Vec::with_capacity(dests.len());
        c_sort_order(&fields, cmp_dest_fields, order, &mut tmp);
    }
}

/// The sort keys of IPv4 destinations, in `keys`: address, port and position in one number.
/// Sorted, they are ipvsadm's order when no two addresses differ by 2^31 or more (then its
/// comparator is a total order on addresses and ports, and a merge sort keeps equal ones in the
/// order given, as the positions do). False, and `keys` left to be cleared, when they are not
/// all IPv4, are more than 16 bits of positions, or differ that much.
fn v4_keys(dests: &[DestinationEntry], keys: &mut Vec<u64>) -> bool {
    keys.clear();
    if dests.len() > 1 << 16 {
        return false;
    }
    let (mut min, mut max) = (u32::MAX, 0);
    for (i, e) in dests.iter().enumerate() {
        let IpAddr::V4(a) = e.destination.addr else {
            return false;
        };
        let a = u32::from(a);
        (min, max) = (min.min(a), max.max(a));
        keys.push(u64::from(a) << 32 | u64::from(e.destination.port) << 16 | i as u64);
    }
    within_2_31(min, max)
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

    /// A small deterministic generator (xorshift).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// An address from a pool that makes ties, neighbours, and (when `wide`) differences of
    /// 2^31 and more, IPv6 with a share of `v6` in 8.
    fn some_addr(r: &mut Rng, wide: bool, v6: u64) -> IpAddr {
        let base: u32 = if wide && r.below(2) == 0 {
            0xc800_0000
        } else {
            0x0a00_0000
        };
        let low = r.below(6) as u32;
        if r.below(8) < v6 {
            let hi = if wide && r.below(2) == 0 {
                0xfe80
            } else {
                0x2001
            };
            IpAddr::V6(std::net::Ipv6Addr::new(
                hi,
                0xdb8,
                0,
                r.below(2) as u16,
                0,
                0,
                (base >> 16) as u16,
                low as u16,
            ))
        } else {
            IpAddr::V4(std::net::Ipv4Addr::from(base + low))
        }
    }

    #[test]
    fn dest_order_is_the_merge_sorts_on_generated_lists() {
        // Every way through `dest_order` (IPv4 keys, IPv6 keys, the comparator's merge sort
        // when the family is mixed or differences wrap) against glibc's merge sort run with
        // ipvsadm's comparator, ties (same address and port) included.
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut order, mut keys) = (Vec::new(), Vec::new());
        for case in 0..3000 {
            let n = match case % 4 {
                0 => r.below(5),
                1 => r.below(20),
                2 => r.below(200),
                _ => 1 + r.below(3),
            } as usize;
            let wide = case % 3 == 0;
            let v6 = [0, 0, 8, 1][case % 4];
            let dests: Vec<DestinationEntry> = (0..n)
                .map(|i| {
                    let mut d = dest("10.0.0.1", [0, 80, 8080][r.below(3) as usize]);
                    d.destination.addr = some_addr(&mut r, wide, v6);
                    d.active_conns = i as u32;
                    d
                })
                .collect();
            dest_order(&dests, true, &mut order, &mut keys);
            let got: Vec<&DestinationEntry> = order.iter().map(|i| &dests[*i]).collect();
            assert_eq!(got, c_sorted(&dests, cmp_dests), "case {case}: {dests:?}");
        }
        // More than 16 bits of positions.
        let dests: Vec<DestinationEntry> = (0..70_000u32)
            .map(|i| {
                let mut d = dest("10.0.0.1", (i % 3) as u16);
                d.destination.addr = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i / 7));
                d.active_conns = i;
                d
            })
            .rev()
            .collect();
        dest_order(&dests, true, &mut order, &mut keys);
        let got: Vec<&DestinationEntry> = order.iter().map(|i| &dests[*i]).collect();
        assert_eq!(got, c_sorted(&dests, cmp_dests));
        dest_order(&dests[..3], false, &mut order, &mut keys);
        assert_eq!(order, [0, 1, 2]);
    }

    #[test]
    fn service_order_is_the_merge_sorts_on_generated_tables() {
        let mut r = Rng(0x2545_f491_4f6c_dd1d);
        for case in 0..2000 {
            let n = [r.below(4), r.below(30), r.below(300)][case % 3] as usize;
            let wide = case % 5 == 0;
            let entries: Vec<ServiceEntry> = (0..n)
                .map(|_| {
                    let key = match r.below(6) {
                        0 => {
                            let mark = if wide && r.below(2) == 0 {
                                0x8000_0000 + r.below(3) as u32
                            } else {
                                1 + r.below(3) as u32
                            };
                            let family = [Family::Inet, Family::Inet6][r.below(2) as usize];
                            ServiceKey::fwmark(mark, family)
                        }
                        k => ServiceKey::Addr {
                            protocol: [Protocol::Tcp, Protocol::Udp, Protocol::Sctp]
                                [k as usize % 3],
                            // Tables without IPv6 address services half of the time.
                            addr: some_addr(&mut r, wide, [0, 2][case % 2]),
                            port: [80, 443][r.below(2) as usize],
                        },
                    };
                    ServiceEntry {
                        service: ipvs::Service::new(key),
                        stats: ipvs::Stats::default(),
                    }
                })
                .collect();
            let refs: Vec<&ServiceEntry> = entries.iter().collect();
            let got: Vec<&ServiceKey> = service_order(&refs, true)
                .into_iter()
                .map(|i| &entries[i].service.key)
                .collect();
            let keys: Vec<ServiceKey> = entries.iter().map(|e| e.service.key).collect();
            assert_eq!(got, c_sorted(&keys, cmp_services), "case {case}: {keys:?}");
            // Positions, not only keys: equal keys stay in the order given.
            let want: Vec<usize> =
                c_sorted(&refs, |a, b| cmp_services(&a.service.key, &b.service.key))
                    .into_iter()
                    .map(|e| {
                        refs.iter()
                            .position(|x| std::ptr::eq(*x, *e))
                            .unwrap_or(usize::MAX)
                    })
                    .collect();
            assert_eq!(service_order(&refs, true), want, "case {case}");
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
