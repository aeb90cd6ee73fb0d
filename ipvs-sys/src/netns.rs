//! Running a closure inside another network namespace, on a short-lived
//! thread, so the caller's thread never changes namespace.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Resolves a namespace given by name or by path. A name (no `/`) is looked
/// up where `ip netns` keeps them: `/run/netns`, then `/var/run/netns` (the
/// same folder where `/var/run` links to `/run`, as on most systems); when it
/// is in neither, the answer is under `/var/run/netns`.
pub fn netns_path(name_or_path: &str) -> PathBuf {
    if name_or_path.contains('/') {
        return PathBuf::from(name_or_path);
    }
    ["/run/netns", "/var/run/netns"]
        .iter()
        .map(|dir| Path::new(dir).join(name_or_path))
        .find(|p| p.exists())
        .unwrap_or_else(|| Path::new("/var/run/netns").join(name_or_path))
}

/// Runs `f` on a new thread that first joins the network namespace at `path`.
/// The thread ends afterwards, so no other code ever runs in that namespace by accident.
pub fn run_in_netns<T, F>(path: &Path, f: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> io::Result<T> + Send + 'static,
{
    // The OS error is kept as is, errno included; callers know the path.
    let file = File::open(path)?;
    std::thread::spawn(move || {
        // SAFETY: setns only reads the fd, which `file` keeps open for the
        // call; it changes the namespace of this thread alone (CLONE_NEWNET
        // is allowed in multithreaded processes), and this thread ends when f returns.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        drop(file);
        f()
    })
    .join()
    .map_err(|_| io::Error::other("network namespace thread panicked"))?
}

/// Like [`run_in_netns`], but `f` may borrow from the caller (a scoped thread); a panic in `f`
/// is resumed on the caller's thread.
pub fn run_in_netns_scoped<T, F>(path: &Path, f: F) -> io::Result<T>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    let file = File::open(path)?;
    std::thread::scope(|s| {
        s.spawn(move || {
            // SAFETY: as in run_in_netns: setns reads the fd that `file` keeps open and changes
            // the namespace of this scoped thread alone, which ends when f returns.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            if rc != 0 {
                return Err(io::Error::last_os_error());
            }
            drop(file);
            Ok(f())
        })
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        assert_eq!(netns_path("/proc/1/ns/net"), Path::new("/proc/1/ns/net"));
        assert_eq!(netns_path("./ns"), Path::new("./ns"));
        assert_eq!(
            netns_path("no-such-netns-xyz"),
            Path::new("/var/run/netns/no-such-netns-xyz")
        );
    }
}
