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

/// Becomes `user` for good: supplementary groups cleared, then the group and
/// user ids (real, effective and saved) set, which drops every capability.
/// Fails unless getting root back is impossible afterwards.
pub fn become_user(user: &User) -> io::Result<()> {
    let check = |rc: libc::c_int| {
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    };
    // SAFETY: setgroups reads `size` gids from the pointer; with 0 it reads
    // none. glibc applies it (and setresgid/setresuid) to every thread.
    check(unsafe { libc::setgroups(0, std::ptr::null()) })?;
    // SAFETY: plain system calls with integer arguments.
    check(unsafe { libc::setresgid(user.gid, user.gid, user.gid) })?;
    // SAFETY: as above.
    check(unsafe { libc::setresuid(user.uid, user.uid, user.uid) })?;
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
