//! How keys read: a service as ipvsadm's listing names it, a destination by its address.

use std::fmt;
use std::net::IpAddr;

use crate::addr::AddrPort;
use crate::{Destination, Family, Protocol, ServiceKey};

/// `TCP 10.0.0.1:80`, `UDP [2001:db8::1]:53`, `FWM 7` or `FWM 7 IPv6`: the service as
/// `ipvsadm -L -n` names it.
///
/// ```
/// use ipvs::{Family, ServiceKey};
/// let web = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
/// assert_eq!(web.to_string(), "TCP 10.0.0.1:80");
/// assert_eq!(ServiceKey::fwmark(7, Family::Inet6).to_string(), "FWM 7 IPv6");
/// ```
impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => {
                let proto = match protocol {
                    Protocol::Tcp => "TCP".to_string(),
                    Protocol::Udp => "UDP".to_string(),
                    Protocol::Sctp => "SCTP".to_string(),
                    Protocol::Other(n) => format!("protocol {n}"),
                };
                write!(f, "{proto} {}", AddrPort(addr, port))
            }
            ServiceKey::Fwmark { fwmark, family } => match family {
                Family::Inet => write!(f, "FWM {fwmark}"),
                Family::Inet6 => write!(f, "FWM {fwmark} IPv6"),
            },
        }
    }
}

/// What identifies one destination in the table: its service, address and port.
///
/// ```
/// use ipvs::{DestinationKey, ServiceKey};
/// let web = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
/// let real = DestinationKey::new(web, "2001:db8::2".parse().unwrap(), 8080);
/// assert_eq!(real.to_string(), "[2001:db8::2]:8080 of TCP 10.0.0.1:80");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DestinationKey {
    /// The service it belongs to.
    pub service: ServiceKey,
    /// The real server's address.
    pub addr: IpAddr,
    /// The real server's port.
    pub port: u16,
}

impl DestinationKey {
    /// The destination `addr`:`port` of `service`.
    pub fn new(service: ServiceKey, addr: IpAddr, port: u16) -> Self {
        DestinationKey {
            service,
            addr,
            port,
        }
    }

    /// The key of `destination` in `service`.
    pub fn of(service: ServiceKey, destination: &Destination) -> Self {
        Self::new(service, destination.addr, destination.port)
    }
}

/// `ADDRESS:PORT of SERVICE`, e.g. `10.0.0.2:80 of TCP 10.0.0.1:80`.
impl fmt::Display for DestinationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {}", AddrPort(self.addr, self.port), self.service)
    }
}

/// A [`BuildHasher`](std::hash::BuildHasher) for maps and sets keyed by a table's own keys
/// ([`ServiceKey`], [`DestinationKey`], addresses and ports): a multiply-and-rotate hash (as
/// rustc's FxHash) that costs a few instructions a word, where the standard SipHash costs
/// some hundreds a key. It is not made to withstand keys chosen to collide: use it for the
/// keys of the table and of the desired state (which whoever can write those chose anyway),
/// not for keys from the network. `apply`'s plan of a 2,000-service table looks keys up some
/// tens of thousands of times.
///
/// ```
/// use std::collections::HashMap;
/// use ipvs::apply::KeyHash;
/// use ipvs::ServiceKey;
/// let mut index: HashMap<ServiceKey, usize, KeyHash> = HashMap::default();
/// index.insert(ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80), 0);
/// assert_eq!(index.get(&ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80)), Some(&0));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyHash;

impl std::hash::BuildHasher for KeyHash {
    type Hasher = KeyHasher;
    #[inline]
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(0)
    }
}

/// The hasher of [`KeyHash`].
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyHasher(u64);

impl KeyHasher {
    const K: u64 = 0xf135_7aea_2e62_a9c5;

    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0 ^ word).wrapping_mul(Self::K);
    }
}

impl std::hash::Hasher for KeyHasher {
    #[inline]
    fn finish(&self) -> u64 {
        // The map takes its bucket from the low bits and its tag from the top 7: the
        // multiply leaves the mixing in the high bits, the rotation brings it down too.
        self.0.rotate_left(26)
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn write_isize(&mut self, i: isize) {
        self.add(i as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The table's keys in sequence (as a generated table has them) spread over the buckets:
    /// no two of 4,096 consecutive addresses' services or destinations share a hash.
    #[test]
    fn consecutive_keys_hash_apart() {
        use std::hash::BuildHasher;
        let mut services = HashSet::new();
        let mut dests = HashSet::new();
        for i in 0..4096u32 {
            let key = ServiceKey::tcp(IpAddr::from((0x0a00_0000 + i).to_be_bytes()), 80);
            assert!(services.insert(KeyHash.hash_one(key)));
            let d = DestinationKey::new(key, IpAddr::from((0xac10_0000 + i).to_be_bytes()), 8080);
            assert!(dests.insert(KeyHash.hash_one(d)));
        }
        // The low bits (a small map's buckets) differ too, for most.
        let low: HashSet<u64> = services.iter().map(|h| h & 0xfff).collect();
        assert!(low.len() > 2048, "{} of 4096 low parts", low.len());
    }
}
