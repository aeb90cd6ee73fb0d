//! The C library's calls that no maintained crate offers: the name look-ups, as ipvsadm
//! resolves names (honouring nsswitch): `getnameinfo` for a host's name, and `getservbyport_r` /
//! `getservbyname_r` for the services database (tcp, udp and sctp ports); and `setpriority`
//! for a thread (nix has none).
//! The reentrant calls only, never those that answer in static storage (`getservbyport`,
//! `gethostbyaddr`), so that threads may look up at once.
//!
//! The one module of ipvsctl allowed `unsafe` (FFI); each block says why it is sound.

use std::ffi::{CStr, CString};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// Puts the calling thread (and the threads it starts after, which inherit it) in
/// `SCHED_IDLE`: it runs only when no thread of a normal policy wants the CPU. At nice 19 when
/// the policy is refused. Best effort, the outcome is not reported.
pub fn idle_priority() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid sched_param that outlives the call; pid 0 is the calling
    // thread on Linux.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } != 0 {
        // SAFETY: setpriority takes integers only; who = 0 is the calling thread on Linux.
        let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
    }
}

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
/// Thread-safe: `getservbyport_r` fills an entry and a buffer of ours, not the C library's
/// static entry that `getservbyport` returns.
pub fn service_name(port: u16, proto: &str) -> Option<String> {
    let proto = CString::new(proto).ok()?;
    with_servent(
        |ent, buf, len, result| {
            // SAFETY: `proto` is NUL-terminated and outlives the call; `ent`, `buf` (of `len`
            // bytes) and `result` are valid writable places that with_servent owns.
            unsafe {
                getservbyport_r(
                    i32::from(port.to_be()),
                    proto.as_ptr(),
                    ent,
                    buf,
                    len,
                    result,
                )
            }
        },
        |ent| {
            if ent.s_name.is_null() {
                return None;
            }
            // SAFETY: a found entry's s_name points to a NUL-terminated string in the buffer,
            // which with_servent keeps alive while this runs.
            let name = unsafe { CStr::from_ptr(ent.s_name) };
            Some(name.to_string_lossy().into_owned())
        },
    )
}

/// The port of a service name for a protocol, from the services database (thread-safe:
/// `getservbyname_r`).
pub fn service_port(name: &str, proto: &str) -> Option<u16> {
    let name = CString::new(name).ok()?;
    let proto = CString::new(proto).ok()?;
    with_servent(
        |ent, buf, len, result| {
            // SAFETY: both strings are NUL-terminated and outlive the call; `ent`, `buf` (of
            // `len` bytes) and `result` are valid writable places that with_servent owns.
            unsafe { getservbyname_r(name.as_ptr(), proto.as_ptr(), ent, buf, len, result) }
        },
        |ent| Some(u16::from_be(ent.s_port as u16)),
    )
}

// The reentrant services look-ups of glibc and musl, which the libc crate does not declare.
extern "C" {
    fn getservbyport_r(
        port: libc::c_int,
        proto: *const libc::c_char,
        result_buf: *mut libc::servent,
        buf: *mut libc::c_char,
        buflen: libc::size_t,
        result: *mut *mut libc::servent,
    ) -> libc::c_int;
    fn getservbyname_r(
        name: *const libc::c_char,
        proto: *const libc::c_char,
        result_buf: *mut libc::servent,
        buf: *mut libc::c_char,
        buflen: libc::size_t,
        result: *mut *mut libc::servent,
    ) -> libc::c_int;
}

/// Runs a `getservby*_r` `call` with an entry and a buffer of our own, growing the buffer while
/// the call answers ERANGE (up to 1 MiB: no services line is that long), and hands the found
/// entry to `read` while its strings (in the buffer) are alive.
fn with_servent<T>(
    call: impl Fn(
        *mut libc::servent,
        *mut libc::c_char,
        libc::size_t,
        *mut *mut libc::servent,
    ) -> libc::c_int,
    read: impl FnOnce(&libc::servent) -> Option<T>,
) -> Option<T> {
    let mut len = 1024;
    loop {
        let mut buf = vec![0 as libc::c_char; len];
        // SAFETY: servent is plain old data; all-zero (null pointers) is a valid value.
        let mut ent: libc::servent = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::servent = std::ptr::null_mut();
        let rc = call(&mut ent, buf.as_mut_ptr(), buf.len(), &mut result);
        if rc == libc::ERANGE && len < 1 << 20 {
            len *= 4;
            continue;
        }
        if rc != 0 || result.is_null() {
            return None;
        }
        return read(&ent);
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

    /// Every look-up of the table in `ports` and a few hosts, in the order `rotate` gives.
    fn look_up_all(rotate: usize) -> Vec<(String, Option<String>)> {
        let protos = ["tcp", "udp", "sctp"];
        let mut keys: Vec<(u16, &str)> = (0..=1100u16)
            .flat_map(|p| protos.iter().map(move |pr| (p, *pr)))
            .collect();
        let n = keys.len();
        keys.rotate_left(rotate % n);
        let mut out: Vec<(String, Option<String>)> = Vec::new();
        for (port, proto) in keys {
            let name = service_name(port, proto);
            // The way back, name to port, when there is a name.
            let back = name
                .as_deref()
                .and_then(|n| service_port(n, proto))
                .map(|p| p.to_string());
            out.push((format!("{port}/{proto}"), name));
            out.push((format!("{port}/{proto} back"), back));
        }
        for host in ["127.0.0.1", "::1", "192.0.2.1"] {
            out.push((host.into(), host_name(host.parse().unwrap())));
        }
        out.sort();
        out
    }

    #[test]
    fn reentrant_service_names_match_the_static_call() {
        // The same answers as getservbyport, here called alone on one thread.
        let mut found = 0;
        for port in 0..=1100u16 {
            for proto in ["tcp", "udp", "sctp"] {
                let p = CString::new(proto).unwrap();
                // SAFETY: `p` is NUL-terminated; the static entry is read at once, and no other
                // thread of this test looks up services (the threaded test compares with
                // service_name, not with this call).
                let old = unsafe {
                    let ent = libc::getservbyport(i32::from(port.to_be()), p.as_ptr());
                    (!ent.is_null() && !(*ent).s_name.is_null())
                        .then(|| CStr::from_ptr((*ent).s_name).to_string_lossy().into_owned())
                };
                found += usize::from(old.is_some());
                assert_eq!(service_name(port, proto), old, "{port}/{proto}");
            }
        }
        if std::path::Path::new("/etc/services").exists() {
            assert!(found > 50, "only {found} named ports in /etc/services");
        }
    }

    #[test]
    fn look_ups_from_many_threads_at_once_answer_as_one_thread_does() {
        let alone = look_up_all(0);
        if std::path::Path::new("/etc/services").exists() {
            assert!(alone.iter().filter(|(_, v)| v.is_some()).count() > 100);
        }
        let threads = 8;
        let rounds = 3;
        let barrier = std::sync::Barrier::new(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let barrier = &barrier;
                    s.spawn(move || {
                        barrier.wait();
                        (0..rounds)
                            .map(|r| look_up_all(t * 397 + r * 1009))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for (t, h) in handles.into_iter().enumerate() {
                for (r, got) in h.join().unwrap().into_iter().enumerate() {
                    assert!(got == alone, "thread {t}, round {r} answered differently");
                }
            }
        });
    }
}
