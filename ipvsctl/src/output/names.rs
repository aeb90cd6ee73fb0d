//! Host and service name look-ups, behind a trait so tests can fake them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;

/// Resolves addresses and ports to names for output without `-n`.
pub trait Names {
    /// The host name of an address (a reverse look-up), if it has one.
    fn host(&self, addr: IpAddr) -> Option<String>;
    /// The service name of a port for `"tcp"`, `"udp"` or `"sctp"`, if the
    /// services database has one.
    fn service(&self, port: u16, proto: &str) -> Option<String>;
}

/// Names from the C library (`getnameinfo`, `getservbyport`), as ipvsadm
/// looks them up, remembered for the life of the value so that a table with
/// many entries on one address asks the resolver once.
#[derive(Debug, Default)]
pub struct SystemNames {
    hosts: RefCell<HashMap<IpAddr, Option<String>>>,
    services: RefCell<HashMap<(u16, String), Option<String>>>,
}

impl SystemNames {
    /// A resolver with an empty cache.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Names for SystemNames {
    fn host(&self, addr: IpAddr) -> Option<String> {
        self.hosts
            .borrow_mut()
            .entry(addr)
            .or_insert_with(|| crate::sys::host_name(addr))
            .clone()
    }

    fn service(&self, port: u16, proto: &str) -> Option<String> {
        self.services
            .borrow_mut()
            .entry((port, proto.to_string()))
            .or_insert_with(|| crate::sys::service_name(port, proto))
            .clone()
    }
}

/// A resolver that knows no names: everything prints as numbers.
#[derive(Debug, Clone, Copy, Default)]
pub struct NumericOnly;

impl Names for NumericOnly {
    fn host(&self, _addr: IpAddr) -> Option<String> {
        None
    }
    fn service(&self, _port: u16, _proto: &str) -> Option<String> {
        None
    }
}
