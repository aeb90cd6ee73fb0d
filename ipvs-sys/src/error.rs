//! Errors of the wire layer.

use std::io;

use netlink_packet_core::DecodeError;

/// An error the kernel returned for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    /// Positive errno (`libc::EEXIST`, ...).
    pub errno: i32,
    /// The kernel's extended-ACK text, when it sent one.
    pub ext_ack: Option<String>,
}

impl std::fmt::Display for KernelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", io::Error::from_raw_os_error(self.errno))?;
        if let Some(m) = &self.ext_ack {
            write!(f, " ({m})")?;
        }
        Ok(())
    }
}

impl std::error::Error for KernelError {}

/// Anything that can go wrong talking to IPVS.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The kernel has no generic-netlink family "IPVS" (module not loaded or not built).
    FamilyNotFound,
    /// The kernel refused the request.
    Kernel(KernelError),
    /// No answer within the socket's receive timeout.
    Timeout,
    /// A socket call failed.
    Io(io::Error),
    /// The kernel's reply could not be decoded.
    Decode(DecodeError),
    /// Every attempt at a dump was interrupted by concurrent changes (`NLM_F_DUMP_INTR`).
    DumpInterrupted,
    /// The answers to a batch overflowed the socket's receive queue (`ENOBUFS`), and the kernel
    /// dropped some of them.
    BatchOverrun {
        /// The outcome of each message before `in_flight`: all of them were answered.
        done: Vec<crate::BatchResult>,
        /// The messages of the send whose answers overflowed: the kernel ran every one of them,
        /// but whether each succeeded is unknown, but for those in `refused`. The messages
        /// after them were not sent.
        in_flight: std::ops::Range<usize>,
        /// The refusals of `in_flight` messages that did arrive: (index, error).
        refused: Vec<(usize, KernelError)>,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::FamilyNotFound => write!(f, "generic netlink family \"IPVS\" not found"),
            Error::Kernel(e) => write!(f, "{e}"),
            Error::Timeout => write!(f, "no reply from the kernel before the timeout"),
            Error::Io(e) => write!(f, "netlink socket: {e}"),
            Error::Decode(e) => write!(f, "malformed netlink reply: {e}"),
            Error::DumpInterrupted => write!(
                f,
                "the kernel's table kept changing during the dump (NLM_F_DUMP_INTR)"
            ),
            Error::BatchOverrun {
                done,
                in_flight,
                refused,
            } => write!(
                f,
                "the kernel's answers overflowed the socket's receive queue (ENOBUFS): the first \
                 {} messages answered; messages {}..={} run, {} of them refused, the others' \
                 outcome unknown; the rest not sent",
                done.len(),
                in_flight.start + 1,
                in_flight.end,
                refused.len()
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Kernel(e) => Some(e),
            Error::Io(e) => Some(e),
            Error::Decode(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::Timeout,
            _ => Error::Io(e),
        }
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Decode(e)
    }
}
