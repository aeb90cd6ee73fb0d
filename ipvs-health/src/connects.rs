//! The scheduler's TCP checks without a task or a tokio registration per check: nonblocking
//! connects in an epoll set of its own, the set itself registered once with tokio. A check is
//! then the kernel's least work (socket, connect, epoll_ctl add, SO_ERROR, close: closing takes
//! it out of the set), where `TcpStream::connect` adds the removal from tokio's set and a
//! task's wake-up per check.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::socket::{
    connect, getsockopt, socket, sockopt, AddressFamily, SockFlag, SockType, SockaddrStorage,
};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::check::{io_outcome, Outcome};

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

    /// Starts a connect to `to`; the socket is in the set under `token` until it is closed
    /// (dropped). An answer already there (or a failure to start) is the outcome.
    pub(crate) fn start(&self, to: SocketAddr, token: u64) -> Result<OwnedFd, Outcome> {
        let family = match to {
            SocketAddr::V4(_) => AddressFamily::Inet,
            SocketAddr::V6(_) => AddressFamily::Inet6,
        };
        let flags = SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC;
        let sock = socket(family, SockType::Stream, flags, None).map_err(failed)?;
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
