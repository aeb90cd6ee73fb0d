//! Host and service names through the C library, as ipvsadm resolves them
//! (`getnameinfo`, `getservbyport`, `getservbyname`, honouring nsswitch).
//! The FFI lives here because this is the one crate allowed `unsafe`.

use std::ffi::{CStr, CString};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// The name of an address (reverse lookup), or `None` when it has none.
pub fn host_name(addr: IpAddr) -> Option<String> {
    let sa: libc::sockaddr_storage;
    let len;
    match addr {
        IpAddr::V4(a) => {
            let mut s4: libc::sockaddr_in = zeroed_sockaddr_in();
            s4.sin_family = libc::AF_INET as libc::sa_family_t;
            s4.sin_addr.s_addr = u32::from_ne_bytes(a.octets());
            sa = to_storage(&s4);
            len = std::mem::size_of::<libc::sockaddr_in>();
        }
        IpAddr::V6(a) => {
            let mut s6: libc::sockaddr_in6 = zeroed_sockaddr_in6();
            s6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            s6.sin6_addr.s6_addr = a.octets();
            sa = to_storage(&s6);
            len = std::mem::size_of::<libc::sockaddr_in6>();
        }
    }
    let mut host = [0 as libc::c_char; 1025];
    // SAFETY: `sa` is a valid sockaddr of `len` bytes; `host` is a writable
    // buffer whose length is passed; no service buffer is requested.
    let rc = unsafe {
        libc::getnameinfo(
            &sa as *const libc::sockaddr_storage as *const libc::sockaddr,
            len as libc::socklen_t,
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        )
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: getnameinfo succeeded, so `host` holds a NUL-terminated string.
    let name = unsafe { CStr::from_ptr(host.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

/// The service name of a port for a protocol (`"tcp"`, `"udp"`, `"sctp"`), from the services database.
pub fn service_name(port: u16, proto: &str) -> Option<String> {
    let proto = CString::new(proto).ok()?;
    // SAFETY: `proto` is NUL-terminated and outlives the call. getservbyport
    // returns a pointer to static storage (not thread-safe, like ipvsadm's
    // use): its name is copied out at once, before any other lookup.
    unsafe {
        let ent = libc::getservbyport(i32::from(port.to_be()), proto.as_ptr());
        if ent.is_null() || (*ent).s_name.is_null() {
            return None;
        }
        Some(CStr::from_ptr((*ent).s_name).to_string_lossy().into_owned())
    }
}

/// The port of a service name for a protocol, from the services database.
pub fn service_port(name: &str, proto: &str) -> Option<u16> {
    let name = CString::new(name).ok()?;
    let proto = CString::new(proto).ok()?;
    // SAFETY: both strings are NUL-terminated and outlive the call; the
    // returned static entry is read at once.
    unsafe {
        let ent = libc::getservbyname(name.as_ptr(), proto.as_ptr());
        if ent.is_null() {
            return None;
        }
        Some(u16::from_be((*ent).s_port as u16))
    }
}

/// The addresses of a host name (forward lookup through getaddrinfo).
pub fn host_addrs(name: &str) -> Vec<IpAddr> {
    (name, 0)
        .to_socket_addrs()
        .map(|it| it.map(|sa: SocketAddr| sa.ip()).collect())
        .unwrap_or_default()
}

fn zeroed_sockaddr_in() -> libc::sockaddr_in {
    // SAFETY: sockaddr_in is plain old data; all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

fn zeroed_sockaddr_in6() -> libc::sockaddr_in6 {
    // SAFETY: sockaddr_in6 is plain old data; all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

fn to_storage<T>(sa: &T) -> libc::sockaddr_storage {
    // SAFETY: sockaddr_storage is plain old data, larger than any sockaddr
    // type T used here (sockaddr_in, sockaddr_in6); we copy T's bytes into
    // the zeroed start of it.
    unsafe {
        let mut st: libc::sockaddr_storage = std::mem::zeroed();
        std::ptr::copy_nonoverlapping(
            sa as *const T as *const u8,
            &mut st as *mut libc::sockaddr_storage as *mut u8,
            std::mem::size_of::<T>(),
        );
        st
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_resolves_both_ways() {
        assert!(host_addrs("localhost").iter().any(|a| a.is_loopback()));
        // /etc/hosts names 127.0.0.1 on any Debian machine.
        assert!(host_name("127.0.0.1".parse().unwrap()).is_some());
    }

    #[test]
    fn services_database() {
        if std::path::Path::new("/etc/services").exists() {
            assert_eq!(service_port("http", "tcp"), Some(80));
            assert_eq!(service_name(80, "tcp").as_deref(), Some("http"));
        }
        assert_eq!(service_port("no-such-service-xyz", "tcp"), None);
    }
}
