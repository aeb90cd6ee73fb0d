//! The scheduler's TCP checks without a task or a tokio registration per check: nonblocking
//! connects in an epoll set of its own, the set itself registered once with tokio. A check is
//! then the kernel's least work (socket, connect, epoll_ctl add, SO_ERROR, close: closing takes
//! it out of the set), where `TcpStream::connect` adds the removal from tokio's set and a
//! task's wake-up per check. A check's `mark` and `source` are set on the socket here as on the
//! general path's (a DR or TUN server checked on its VIP through IPVS).

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::socket::{
    bind, connect, getsockopt, socket, sockopt, AddressFamily, SockFlag, SockType, SockaddrStorage,
};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::check::{io_outcome, own_mark, own_source, Outcome};
use crate::spec::Check;

/// The epoll set, as tokio sees it: one descriptor, readable when a connect has an answer.
pub(crate) struct EpollFd(Epoll);

impl AsRawFd for EpollFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0 .0.as_raw_fd()
    }
}

/// Connects under way, each named by a token of the caller's.
pub(crate) struct Connects {
    set: AsyncFd<EpollFd>,
    ready: Vec<EpollEvent>,
}

/// Answers taken from the set at once, at most.
const BATCH: usize = 256;

impl Connects {
    /// A set registered with the current tokio runtime.
    pub(crate) fn new() -> io::Result<Self> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).map_err(io::Error::from)?;
        // SAFETY: the descriptor is the epoll set's OwnedFd, held by the EpollFd that the
        // AsyncFd owns: open, the same, and returned by every as_raw_fd until it is dropped.
        #[allow(unsafe_code)]
        let set = unsafe { AsyncFd::register_with_interest(EpollFd(epoll), Interest::READABLE) }
            .map_err(io::Error::from)?;
        Ok(Connects {
            set,
            ready: vec![EpollEvent::empty(); BATCH],
        })
    }

    /// Starts `check`'s connect to `to`, from its `source` and with its `mark`; the socket is
    /// in the set under `token` until it is closed (dropped). An answer already there (or a
    /// failure to start) is the outcome, the same as the general path's.
    pub(crate) fn start(
        &self,
        check: &Check,
        to: SocketAddr,
        token: u64,
    ) -> Result<OwnedFd, Outcome> {
        let family = match to {
            SocketAddr::V4(_) => AddressFamily::Inet,
            SocketAddr::V6(_) => AddressFamily::Inet6,
        };
        let source = own_source(check, to)?;
        let flags = SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC;
        let sock = socket(family, SockType::Stream, flags, None).map_err(failed)?;
        if let Some(from) = source {
            bind(sock.as_raw_fd(), &SockaddrStorage::from(from))
                .map_err(|e| io_outcome("source", &io::Error::from(e)))?;
        }
        own_mark(&sock, check)?;
        match connect(sock.as_raw_fd(), &SockaddrStorage::from(to)) {
            Ok(()) => return Err(Outcome::Up("connect: ok".into())),
            Err(Errno::EINPROGRESS) => {}
            Err(e) => return Err(failed(e)),
        }
        // Edge-triggered: an answer is taken once (a later `take` does not see the same
        // socket again before it is closed); the socket leaves the set when it is closed.
        let interest = EpollFlags::EPOLLOUT
            | EpollFlags::EPOLLERR
            | EpollFlags::EPOLLHUP
            | EpollFlags::EPOLLET;
        self.set
            .get_ref()
            .0
            .add(&sock, EpollEvent::new(interest, token))
            .map_err(failed)?;
        Ok(sock)
    }

    /// Waits until some connect may have its answer.
    pub(crate) async fn answered(&self) -> io::Result<()> {
        let mut guard = self.set.readable().await?;
        // Cleared here and taken in `take`: an answer that comes after `take` emptied the set
        // makes the set readable again (a new edge for tokio), so none is missed.
        guard.clear_ready();
        Ok(())
    }

    /// The tokens of the connects that have an answer, appended to `out` (a token may come
    /// twice: the caller takes the first).
    pub(crate) fn take(&mut self, out: &mut Vec<u64>) {
        loop {
            let n = match self
                .set
                .get_ref()
                .0
                .wait(&mut self.ready, EpollTimeout::ZERO)
            {
                Ok(n) => n,
                Err(Errno::EINTR) => continue,
                // Nothing else is expected of a valid set with a zero timeout; the connects'
                // timeouts still end them.
                Err(_) => return,
            };
            out.extend(self.ready[..n].iter().map(EpollEvent::data));
            if n < self.ready.len() {
                return;
            }
        }
    }
}

/// The answer of a connect the set reported (closes the socket).
pub(crate) fn answer(sock: OwnedFd) -> Outcome {
    match getsockopt(&sock, sockopt::SocketError) {
        Ok(0) => Outcome::Up("connect: ok".into()),
        Ok(code) => io_outcome("connect", &io::Error::from_raw_os_error(code)),
        Err(e) => failed(e),
    }
}

fn failed(e: Errno) -> Outcome {
    io_outcome("connect", &io::Error::from(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_check;
    use nix::sys::socket::{getsockname, SockaddrIn};
    use serde_json::json;

    /// A connect started with a check's `mark` and `source` has them on its socket, as the
    /// general path's: the mark read back with SO_MARK, the source as its local address. The
    /// mark needs CAP_NET_ADMIN; refused, the check is not made (not a server down).
    #[tokio::test(flavor = "current_thread")]
    async fn a_connect_has_the_checks_mark_and_source() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let to = listener.local_addr().unwrap();
        let connects = Connects::new().unwrap();
        let spec = json!({"type": "tcp", "mark": 7, "source": "127.0.0.2"});
        let check = read_check(&spec, "check").unwrap().unwrap();
        let sock = match connects.start(&check, to, 1) {
            Ok(s) => s,
            Err(Outcome::Unchecked(r)) if r == "mark: operation not permitted" => {
                eprintln!("no CAP_NET_ADMIN: the mark is refused, and the check not made");
                return;
            }
            Err(o) => panic!("{o:?}"),
        };
        assert_eq!(getsockopt(&sock, sockopt::Mark).unwrap(), 7);
        let local: SockaddrIn = getsockname(sock.as_raw_fd()).unwrap();
        assert_eq!(local.ip(), std::net::Ipv4Addr::new(127, 0, 0, 2));

        // Without them: no mark, and the kernel's choice of source.
        let plain = read_check(&json!({"type": "tcp"}), "check")
            .unwrap()
            .unwrap();
        let sock = connects.start(&plain, to, 2).unwrap();
        assert_eq!(getsockopt(&sock, sockopt::Mark).unwrap(), 0);
        let local: SockaddrIn = getsockname(sock.as_raw_fd()).unwrap();
        assert_eq!(local.ip(), std::net::Ipv4Addr::LOCALHOST);

        // A source of the other family is the rules' mistake, as on the general path.
        let v6 = json!({"type": "tcp", "source": "::1"});
        let v6 = read_check(&v6, "check").unwrap().unwrap();
        assert_eq!(
            connects.start(&v6, to, 3).unwrap_err(),
            Outcome::Unchecked(format!("source: ::1 cannot send to {}", to.ip()))
        );
    }
}
