//! Dropping root for a long-running reader (`ipvsctl exporter --user`).
//!
//! The kernel checks CAP_NET_ADMIN against the credentials of whoever opened
//! a netlink socket, so a process can open its IPVS sockets as root and then
//! become an unprivileged user for the rest of its life. The FFI lives here
//! because this is the one crate allowed `unsafe`.

use std::ffi::CString;
use std::io;

/// A user from the password database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
}

/// Looks a user up by name (or by a decimal uid, whose primary group is then
/// the gid of the same number when the uid has no entry).
pub fn lookup_user(name: &str) -> io::Result<User> {
    let cname = CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "user name with a NUL byte"))?;
    let mut buf = vec![0 as libc::c_char; 16384];
    // SAFETY: an all-zero passwd (null pointers, zero ids) is a valid value
    // for getpwnam_r to overwrite.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: `cname` is NUL-terminated; `pwd`, `buf` (with its length) and
    // `result` are valid, writable and outlive the call; the strings it
    // points `pwd` at live in `buf`, and are not read here.
    let rc = unsafe {
        libc::getpwnam_r(
            cname.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc == 0 && !result.is_null() {
        return Ok(User {
            uid: pwd.pw_uid,
            gid: pwd.pw_gid,
        });
    }
    if let Ok(uid) = name.parse::<u32>() {
        return Ok(User { uid, gid: uid });
    }
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!("no user {name:?}"),
    ))
}

const PR_SET_KEEPCAPS: libc::c_int = 8;
const PR_CAPBSET_DROP: libc::c_int = 24;
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
/// CAP_NET_ADMIN, from `linux/capability.h`.
pub const CAP_NET_ADMIN: u32 = 12;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Becomes `user` for good, keeping only the capabilities in `keep` (e.g.
/// [`CAP_NET_ADMIN`]): the bounding set loses every other one (where the
/// process may change it), supplementary groups are cleared, the group and
/// user ids (real, effective and saved) are set, and the calling thread's
/// capabilities become `keep`, effective and permitted, none inheritable.
/// Threads started before lose every capability; threads started after
/// from the calling thread inherit its set. Fails unless getting root back
/// is impossible afterwards.
///
/// Why keep any: the kernel checks CAP_NET_ADMIN of the socket's opener
/// *and* of the sender on every IPVS request (`__netlink_ns_capable`), so a
/// reader of IPVS needs it for its whole life.
pub fn become_user(user: &User, keep: &[u32]) -> io::Result<()> {
    let check = |rc: libc::c_int| {
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    };
    // SAFETY: prctl with integer arguments only.
    check(unsafe { libc::prctl(PR_SET_KEEPCAPS, 1 as libc::c_ulong, 0, 0, 0) })?;
    for cap in 0..64u32 {
        if !keep.contains(&cap) {
            // Needs CAP_SETPCAP; without it (or past the last capability) the
            // bounding set stays as the caller's parent left it.
            // SAFETY: prctl with integer arguments only.
            let _ = unsafe { libc::prctl(PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0, 0, 0) };
        }
    }
    // SAFETY: setgroups reads `size` gids from the pointer; with 0 it reads
    // none. glibc applies it (and setresgid/setresuid) to every thread.
    check(unsafe { libc::setgroups(0, std::ptr::null()) })?;
    // SAFETY: plain system calls with integer arguments.
    check(unsafe { libc::setresgid(user.gid, user.gid, user.gid) })?;
    // SAFETY: as above.
    check(unsafe { libc::setresuid(user.uid, user.uid, user.uid) })?;
    let mut data = [CapData::default(); 2];
    for &cap in keep {
        if let Some(d) = data.get_mut((cap / 32) as usize) {
            d.effective |= 1 << (cap % 32);
            d.permitted |= 1 << (cap % 32);
        }
    }
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    // SAFETY: capset(2) with a version-3 header and the two data structs it
    // reads for that version; both live across the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: prctl with integer arguments only.
    check(unsafe { libc::prctl(PR_SET_KEEPCAPS, 0 as libc::c_ulong, 0, 0, 0) })?;
    if user.uid != 0 {
        // SAFETY: as above; this must fail now that root is gone.
        if unsafe { libc::setuid(0) } == 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "could regain root after dropping it",
            ));
        }
    }
    Ok(())
}

/// The effective user id.
pub fn current_uid() -> u32 {
    // SAFETY: geteuid cannot fail and takes no arguments.
    unsafe { libc::geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_root_and_numbers() {
        assert_eq!(lookup_user("root").unwrap(), User { uid: 0, gid: 0 });
        assert_eq!(
            lookup_user("4242424").unwrap(),
            User {
                uid: 4242424,
                gid: 4242424
            }
        );
        assert!(lookup_user("no-such-user-ipvsctl").is_err());
        assert!(lookup_user("a\0b").is_err());
    }
}
