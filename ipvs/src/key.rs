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
