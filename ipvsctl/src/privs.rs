//! Dropping root for a long-running reader (`ipvsctl exporter --user`), through nix (users,
//! groups, prctl) and caps (capability sets).
//!
//! The kernel checks CAP_NET_ADMIN against the credentials of whoever opened a netlink socket,
//! so a process can open its IPVS sockets as root and then become an unprivileged user for the
//! rest of its life.

use std::io;

use caps::{CapSet, Capability, CapsHashSet};
use nix::unistd::{self, Gid, Uid};

/// A user from the password database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
}

/// Looks a user up by name (or by a decimal uid, whose primary group is then the gid of the
/// same number when the uid has no entry).
pub fn lookup_user(name: &str) -> io::Result<User> {
    let found = if name.contains('\0') {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "user name with a NUL byte",
        ))
    } else {
        unistd::User::from_name(name).map_err(io::Error::from)
    };
    match (found, name.parse::<u32>()) {
        (Ok(Some(u)), _) => Ok(User {
            uid: u.uid.as_raw(),
            gid: u.gid.as_raw(),
        }),
        (_, Ok(uid)) => Ok(User { uid, gid: uid }),
        (Err(e), _) => Err(e),
        (Ok(None), _) => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no user {name:?}"),
        )),
    }
}

/// Becomes `user` for good, keeping only the capabilities in `keep` (e.g.
/// `CAP_NET_ADMIN`): the bounding set loses every other one (where the process may change it),
/// supplementary groups are cleared, the group and user ids (real, effective and saved) are
/// set, and the calling thread's capabilities become `keep`, effective and permitted, none
/// inheritable. Threads started before lose every capability; threads started after from the
/// calling thread inherit its set. Fails unless getting root back is impossible afterwards.
///
/// Why keep any: the kernel checks CAP_NET_ADMIN of the socket's opener *and* of the sender on
/// every IPVS request (`__netlink_ns_capable`), so a reader of IPVS needs it for its whole life.
pub fn become_user(user: &User, keep: &[Capability]) -> io::Result<()> {
    let caps_err = |e: caps::errors::CapsError| io::Error::other(e.to_string());
    nix::sys::prctl::set_keepcaps(true)?;
    for cap in caps::all() {
        if !keep.contains(&cap) {
            // Needs CAP_SETPCAP; without it the bounding set stays as the parent left it.
            let _ = caps::drop(None, CapSet::Bounding, cap);
        }
    }
    // glibc's wrappers apply these to every thread of the process.
    unistd::setgroups(&[])?;
    let gid = Gid::from_raw(user.gid);
    unistd::setresgid(gid, gid, gid)?;
    let uid = Uid::from_raw(user.uid);
    unistd::setresuid(uid, uid, uid)?;
    // Capability sets are per thread: this one's. Inheritable first, then effective within the
    // permitted set kept by KEEPCAPS, then permitted down to the same.
    let kept: CapsHashSet = keep.iter().copied().collect();
    caps::set(None, CapSet::Inheritable, &CapsHashSet::new()).map_err(caps_err)?;
    caps::set(None, CapSet::Effective, &kept).map_err(caps_err)?;
    caps::set(None, CapSet::Permitted, &kept).map_err(caps_err)?;
    nix::sys::prctl::set_keepcaps(false)?;
    if user.uid != 0 && unistd::setuid(Uid::from_raw(0)).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "could regain root after dropping it",
        ));
    }
    Ok(())
}

/// The effective user id.
pub fn current_uid() -> u32 {
    unistd::geteuid().as_raw()
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
