//! The IPVS generic-netlink socket: family resolution, request/ACK, dumps
//! and batches of many messages per send.

use std::borrow::Cow;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use netlink_packet_core::{NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};

use crate::consts::{CTRL_CMD_NEWFAMILY, GENL_ID_CTRL, IPVS_GENL_NAME};
use crate::ctrl::{parse_family_id, GetFamily};
use crate::error::{Error, KernelError};
use crate::frame::{self, decode, encode, Body};
use crate::message::IpvsMessage;
use crate::netns::run_in_netns;

/// Receive buffer for one datagram. The kernel sizes dump chunks from the
/// largest read it has seen (up to 32 KiB), so 64 KiB never truncates.
const RECV_BUF: usize = 64 * 1024;
/// The most a read asks for until a dump needs more than one chunk. The kernel
/// allocates every dump chunk (and the one that only says `NLMSG_DONE`) at the
/// size of the largest read the socket has made, at least `NLMSG_GOODSIZE`
/// (under a page, or under 8 KiB with bigger pages): with 64 KiB reads, each
/// dump of a service's few destinations cost two 32 KiB buffers, which kernels
/// with `init_on_alloc` (Debian's default) clear page by page. A page-sized
/// read holds any chunk of that size, and any request's answer.
fn small_recv() -> usize {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(page).unwrap_or(4096).clamp(4096, 8192)
}
/// Socket receive queue we ask for, so the ACKs of a batch never overflow it.
const RCVBUF: usize = 4 * 1024 * 1024;
/// Bytes of requests per send in a batch.
const BATCH_BYTES: usize = 32 * 1024;
/// Default receive timeout: a kernel that does not answer is an error, not a hang.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A netlink socket bound to the IPVS family of one network namespace.
#[derive(Debug)]
pub struct IpvsSocket {
    sock: Socket,
    family: u16,
    seq: u32,
    /// The receive buffer, as long as the longest read asked for so far.
    buf: Vec<u8>,
    /// Bytes of `buf` the last read filled.
    len: usize,
    /// Bytes the next read asks for: [`small_recv`] until a dump needs more.
    recv_len: usize,
    /// The namespace the socket was opened in, to open it again there.
    netns: Option<PathBuf>,
    /// How many messages one batch send may hold, from the receive queue we got.
    batch_max: usize,
    /// The receive timeout set.
    timeout: Duration,
}

/// The outcome of one message of a batch.
pub type BatchResult = Result<(), KernelError>;

impl IpvsSocket {
    /// Opens a socket in the caller's network namespace and resolves the family.
    pub fn open() -> Result<Self, Error> {
        Self::from_socket(Self::new_socket()?, None)
    }

    /// Opens a socket in the network namespace at `path` (e.g. `/var/run/netns/NAME`
    /// or `/proc/PID/ns/net`). Only a short-lived helper thread enters it.
    pub fn open_in_netns(path: &Path) -> Result<Self, Error> {
        let sock = run_in_netns(path, Self::new_socket)?;
        Self::from_socket(sock, Some(path.to_path_buf()))
    }

    fn new_socket() -> std::io::Result<Socket> {
        let mut sock = Socket::new(NETLINK_GENERIC)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        Ok(sock)
    }

    /// Sets the options every socket gets; returns the receive queue granted.
    fn configure(sock: &Socket, timeout: Duration) -> std::io::Result<usize> {
        // Errors echo only the request header; the kernel's text still comes.
        let _ = sock.set_cap_ack(true);
        let _ = sock.set_ext_ack(true);
        let rcvbuf = set_rcvbuf(sock, RCVBUF);
        set_timeout(sock, timeout)?;
        Ok(rcvbuf)
    }

    fn from_socket(sock: Socket, netns: Option<PathBuf>) -> Result<Self, Error> {
        let rcvbuf = Self::configure(&sock, DEFAULT_TIMEOUT)?;
        let mut s = IpvsSocket {
            sock,
            family: 0,
            seq: 0,
            buf: Vec::new(),
            len: 0,
            recv_len: small_recv(),
            netns,
            // An ACK or error costs about 1 KiB of receive queue (skb truesize).
            batch_max: (rcvbuf / 2048).clamp(8, 1024),
            timeout: DEFAULT_TIMEOUT,
        };
        s.family = s.resolve_family()?;
        Ok(s)
    }

    /// After a dump that needed big reads: a fresh socket in the same namespace (the
    /// family id stays), so that the next dumps get small chunks again. Keeps the old
    /// socket when a new one cannot be had.
    fn renew(&mut self) {
        let sock = match &self.netns {
            Some(p) => run_in_netns(p, Self::new_socket),
            None => Self::new_socket(),
        };
        if let Ok(sock) = sock {
            if Self::configure(&sock, self.timeout).is_ok() {
                self.sock = sock;
                self.recv_len = small_recv();
            }
        }
    }

    /// The generic-netlink family id of IPVS in this namespace.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    /// Changes the receive timeout (default [`DEFAULT_TIMEOUT`]).
    pub fn set_timeout(&mut self, timeout: Duration) -> Result<(), Error> {
        set_timeout(&self.sock, timeout).map_err(Error::from)?;
        self.timeout = timeout;
        Ok(())
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    fn resolve_family(&mut self) -> Result<u16, Error> {
        let seq = self.next_seq();
        let req = encode(
            GENL_ID_CTRL,
            NLM_F_REQUEST | NLM_F_ACK,
            seq,
            &GetFamily(IPVS_GENL_NAME),
        );
        self.sock.send(&req, 0)?;
        let mut id = None;
        loop {
            self.recv()?;
            for f in decode(&self.buf[..self.len])? {
                if f.seq != seq {
                    continue;
                }
                match f.body {
                    Body::Data(p) if p.first() == Some(&CTRL_CMD_NEWFAMILY) => {
                        id = Some(parse_family_id(p)?)
                    }
                    Body::Error { errno: 0, .. } => return id.ok_or(Error::FamilyNotFound),
                    Body::Error { errno, .. } if errno == libc::ENOENT => {
                        return Err(Error::FamilyNotFound)
                    }
                    Body::Error { errno, ext_ack } => {
                        return Err(Error::Kernel(KernelError { errno, ext_ack }))
                    }
                    _ => {}
                }
            }
        }
    }

    fn recv(&mut self) -> Result<(), Error> {
        self.len = 0;
        let want = self.recv_len;
        if self.buf.len() < want {
            // Grown only when a dump needs big reads: most runs never touch 64 KiB.
            self.buf.resize(want, 0);
        }
        let n = loop {
            let mut window: &mut [u8] = &mut self.buf[..want];
            match self.sock.recv(&mut window, libc::MSG_TRUNC) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => break r?,
            }
        };
        if n > want {
            return Err(Error::Io(std::io::Error::other(format!(
                "netlink datagram of {n} bytes truncated to {want}"
            ))));
        }
        self.len = n;
        Ok(())
    }

    /// Sends `msg` and waits for its ACK, returning the data messages that came before it
    /// (the reply of a `GET_SERVICE`, `GET_INFO` or `GET_CONFIG`).
    pub fn request(&mut self, msg: &IpvsMessage) -> Result<Vec<IpvsMessage>, Error> {
        self.exchange(msg, NLM_F_REQUEST | NLM_F_ACK)
    }

    /// Sends `msg` as a dump request and reads every part until `NLMSG_DONE`.
    pub fn dump(&mut self, msg: &IpvsMessage) -> Result<Vec<IpvsMessage>, Error> {
        self.exchange(msg, NLM_F_REQUEST | NLM_F_DUMP)
    }

    /// Sends one message and collects the data messages answering it, until
    /// its ACK (a request) or `NLMSG_DONE` (a dump); an error ends it early.
    fn exchange(&mut self, msg: &IpvsMessage, flags: u16) -> Result<Vec<IpvsMessage>, Error> {
        let is_dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let out = self.exchange_reads(msg, flags, is_dump);
        if self.recv_len > small_recv() {
            self.renew();
        }
        out
    }

    fn exchange_reads(
        &mut self,
        msg: &IpvsMessage,
        flags: u16,
        is_dump: bool,
    ) -> Result<Vec<IpvsMessage>, Error> {
        let seq = self.next_seq();
        self.sock.send(&encode(self.family, flags, seq, msg), 0)?;
        let mut out = Vec::new();
        let mut chunks = 0;
        loop {
            self.recv()?;
            let mut data = false;
            for f in decode(&self.buf[..self.len])? {
                if f.seq != seq {
                    continue; // a late answer to an earlier, timed-out request
                }
                match f.body {
                    Body::Data(p) if f.message_type == self.family => {
                        data = true;
                        out.push(IpvsMessage::parse(p)?)
                    }
                    Body::Error { errno: 0, .. } if !is_dump => return Ok(out),
                    Body::Done { errno: 0 } if is_dump => return Ok(out),
                    Body::Error { errno: 0, .. } | Body::Done { errno: 0 } => {}
                    Body::Error { errno, ext_ack } => {
                        return Err(Error::Kernel(KernelError { errno, ext_ack }))
                    }
                    Body::Done { errno } => {
                        return Err(Error::Kernel(KernelError {
                            errno,
                            ext_ack: None,
                        }))
                    }
                    _ => {}
                }
            }
            // The kernel ends a dump with a chunk of its own that says NLMSG_DONE. A second
            // chunk of data makes a big dump: big reads, so that the kernel fills fewer,
            // larger chunks (each one walks the table again from its start).
            if is_dump && data {
                chunks += 1;
                if chunks >= 2 {
                    self.recv_len = RECV_BUF;
                }
            }
        }
    }

    /// Sends many requests, many per `send`, and returns each one's outcome in order.
    ///
    /// The kernel runs the messages of one send in order and answers each
    /// failure; only the last message of each send asks for an ACK, which
    /// tells that every answer before it has been queued. A failed message does
    /// not stop the ones after it.
    pub fn batch(&mut self, msgs: &[IpvsMessage]) -> Result<Vec<BatchResult>, Error> {
        self.batch_with(msgs.len(), |i| Cow::Borrowed(&msgs[i]))
    }

    /// [`batch`](Self::batch) of `count` messages that `msg(i)` makes on demand, so
    /// that each can be dropped once encoded (`msg` may be asked for one twice).
    pub fn batch_with<'m>(
        &mut self,
        count: usize,
        mut msg: impl FnMut(usize) -> Cow<'m, IpvsMessage>,
    ) -> Result<Vec<BatchResult>, Error> {
        let mut results = Vec::with_capacity(count);
        let mut wire = Vec::with_capacity(BATCH_BYTES + 4096);
        let mut start = 0;
        while start < count {
            // Each message is encoded once, straight into the send buffer; one that would
            // take the send past BATCH_BYTES is taken back and opens the next send.
            wire.clear();
            let first_seq = self.seq.wrapping_add(1);
            let mut end = start;
            let mut last_at = 0;
            while end < count && end - start < self.batch_max {
                let at = wire.len();
                let seq = self.seq.wrapping_add(1);
                frame::encode_into(&mut wire, self.family, NLM_F_REQUEST, seq, &*msg(end));
                if end > start && wire.len() > BATCH_BYTES {
                    wire.truncate(at);
                    break;
                }
                self.seq = seq;
                last_at = at;
                end += 1;
            }
            // Only the last message of the send asks for an ACK: nlmsg_flags is at bytes 6..8.
            let flags = (NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes();
            wire[last_at + 6..last_at + 8].copy_from_slice(&flags);
            let last_seq = self.seq;
            self.sock.send(&wire, 0)?;
            let mut chunk: Vec<BatchResult> = vec![Ok(()); end - start];
            'wait: loop {
                self.recv()?;
                for f in decode(&self.buf[..self.len])? {
                    let idx = f.seq.wrapping_sub(first_seq) as usize;
                    if idx >= chunk.len() {
                        continue;
                    }
                    if let Body::Error { errno, ext_ack } = f.body {
                        if errno != 0 {
                            chunk[idx] = Err(KernelError { errno, ext_ack });
                        }
                        if f.seq == last_seq {
                            break 'wait;
                        }
                    }
                }
            }
            results.extend(chunk);
            start = end;
        }
        Ok(results)
    }
}

/// Asks for `want` bytes of receive queue: beyond rmem_max as root (SO_RCVBUFFORCE),
/// else what SO_RCVBUF allows. Returns what the kernel granted.
fn set_rcvbuf(sock: &Socket, want: usize) -> usize {
    let v = want as libc::c_int;
    // SAFETY: `v` outlives the call and its size is passed; the fd is valid while `sock` lives.
    let forced = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            &v as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if forced != 0 {
        let _ = sock.set_rx_buf_sz(v);
    }
    // The kernel reports double what it accounts, overhead included.
    sock.get_rx_buf_sz().map(|n| n / 2).unwrap_or(212_992 / 2)
}

fn set_timeout(sock: &Socket, timeout: Duration) -> std::io::Result<()> {
    let tv = libc::timeval {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_usec: timeout.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: `tv` outlives the call and its size is passed; the fd is valid while `sock` lives.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            &tv as *const libc::timeval as *const libc::c_void,
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
