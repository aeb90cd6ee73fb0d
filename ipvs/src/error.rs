//! Errors. Their `Display` says what failed and why in this crate's words
//! (`adding a service: the service already exists`); [`Error::ipvsadm_message`] is the text
//! ipvsadm prints for the same (operation, errno) pair, for programs that must match it.

use std::fmt;
use std::io;

/// The operation that failed: the kernel's errno means different things for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// Opening the socket and resolving the family.
    Open,
    /// `add_service`.
    AddService,
    /// `edit_service`.
    EditService,
    /// `delete_service`.
    DeleteService,
    /// `service` / `services`.
    GetServices,
    /// `add_destination`.
    AddDestination,
    /// `edit_destination`.
    EditDestination,
    /// `delete_destination`.
    DeleteDestination,
    /// `destinations`.
    GetDestinations,
    /// `zero`.
    Zero,
    /// `flush`.
    Flush,
    /// `timeouts`.
    GetTimeouts,
    /// `set_timeouts`.
    SetTimeouts,
    /// `start_daemon`.
    StartDaemon,
    /// `stop_daemon`.
    StopDaemon,
    /// `daemons`.
    GetDaemons,
    /// `info`.
    GetInfo,
    /// `connections`.
    GetConnections,
    /// `sysctls`, `sysctl`.
    GetSysctls,
    /// `set_sysctl`.
    SetSysctl,
    /// `apply`: the batch as a whole (each change's own error names its operation).
    Apply,
}

/// What the operation does, in words: `adding a service`, `listing the services`, ...
impl Operation {
    /// ipvsadm's `ipvs_strerror`, the text ipvsadm prints when the kernel refuses this
    /// operation with `errno`: the (operation, errno) table first, then errno alone, then the C
    /// library's text. [`Error`]'s `Display` says the same in this crate's words.
    ///
    /// ```
    /// use ipvs::Operation;
    /// assert_eq!(Operation::AddService.ipvsadm_message(libc::EEXIST), "Service already exists");
    /// ```
    pub fn ipvsadm_message(self, errno: i32) -> String {
        ipvsadm_message(self, errno)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Operation::*;
        f.write_str(match self {
            Open => "opening IPVS",
            AddService => "adding a service",
            EditService => "editing a service",
            DeleteService => "deleting a service",
            GetServices => "reading services",
            AddDestination => "adding a destination",
            EditDestination => "editing a destination",
            DeleteDestination => "deleting a destination",
            GetDestinations => "reading destinations",
            Zero => "zeroing counters",
            Flush => "deleting every service",
            GetTimeouts => "reading the timeouts",
            SetTimeouts => "setting the timeouts",
            StartDaemon => "starting a sync daemon",
            StopDaemon => "stopping a sync daemon",
            GetDaemons => "reading the sync daemons",
            GetInfo => "reading the IPVS version",
            GetConnections => "reading the connections",
            GetSysctls => "reading the IPVS sysctls",
            SetSysctl => "writing an IPVS sysctl",
            Apply => "sending changes",
        })
    }
}

/// Anything that can go wrong. Its `Display` says what was attempted and why it failed; for
/// ipvsadm's exact text use [`Error::ipvsadm_message`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The kernel refused an operation.
    #[error("{op}: {}{}", reason(*.op, *.errno), detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Kernel {
        /// What was attempted.
        op: Operation,
        /// The positive errno.
        errno: i32,
        /// The kernel's extended-ACK text, when it sent one.
        detail: Option<String>,
    },
    /// No IPVS in this kernel, even after `modprobe -- ip_vs` (or without it,
    /// when [`crate::OpenOptions::modprobe`] said not to run it).
    #[error("{}", not_available(modprobe_status.as_ref(), modprobe_stderr))]
    NotAvailable {
        /// How `modprobe -- ip_vs` ended; `None` when it was not run, or could
        /// not be started (then `modprobe_stderr` says why).
        modprobe_status: Option<std::process::ExitStatus>,
        /// What modprobe wrote on standard error (`modprobe: FATAL: Module
        /// ip_vs not found in directory ...`), or why it could not be started;
        /// empty when it was not run.
        modprobe_stderr: String,
    },
    /// The network namespace could not be entered.
    #[error("network namespace {}: {source}", path.display())]
    Netns {
        /// The namespace file.
        path: std::path::PathBuf,
        /// Why it could not be opened or joined.
        source: io::Error,
    },
    /// A value the kernel would not accept, caught before sending.
    #[error("{0}")]
    InvalidArgument(String),
    /// The kernel did not answer in time.
    #[error("{op}: no reply from the kernel in time")]
    Timeout {
        /// What was attempted.
        op: Operation,
    },
    /// A socket or file operation failed.
    #[error("{op}: {source}")]
    Io {
        /// What was attempted.
        op: Operation,
        /// The underlying error.
        source: io::Error,
    },
    /// The answers to [`crate::Ipvs::apply`] overflowed the socket's receive queue
    /// (`ENOBUFS`): the kernel dropped some of them.
    #[error(
        "the kernel's answers overflowed the socket's receive queue (ENOBUFS): of the first {} \
         changes, answered, {} failed; changes {}..={} were run, {} of them refused and the \
         others applied or not, unknown; the {} after them were not sent",
        done.len(),
        done.iter().filter(|r| r.is_err()).count(),
        unknown.start + 1,
        unknown.end,
        refused.len(),
        not_sent
    )]
    BatchOverrun {
        /// The outcome of each change before `unknown`.
        done: Vec<Result<()>>,
        /// The changes that were sent and run, with unknown outcome but for `refused`.
        unknown: std::ops::Range<usize>,
        /// The refusals of changes in `unknown` that did arrive: (index, error).
        refused: Vec<(usize, Error)>,
        /// How many changes after `unknown` were not sent.
        not_sent: usize,
    },
    /// Every attempt at a listing was interrupted by concurrent changes (`NLM_F_DUMP_INTR`).
    #[error("{op}: the kernel's table kept changing during the listing")]
    DumpInterrupted {
        /// What was attempted.
        op: Operation,
    },
    /// The kernel's reply could not be understood.
    #[error("{op}: the kernel's reply could not be understood: {detail}")]
    Decode {
        /// What was attempted.
        op: Operation,
        /// What was wrong.
        detail: String,
    },
}

impl Error {
    /// The errno, for kernel and I/O errors.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Kernel { errno, .. } => Some(*errno),
            Error::Io { source, .. } | Error::Netns { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    /// What ipvsadm prints for this error: its `ipvs_strerror` text for the kernel's errno
    /// (`Service already exists`), or this error's own words when ipvsadm has none.
    pub fn ipvsadm_message(&self) -> String {
        match self {
            Error::Kernel { op, errno, .. } => ipvsadm_message(*op, *errno),
            Error::Io { op, source } => match source.raw_os_error() {
                Some(errno) => ipvsadm_message(*op, errno),
                None => source.to_string(),
            },
            other => other.to_string(),
        }
    }

    /// Why it failed, without what was attempted (for messages that say that already).
    pub(crate) fn reason(&self) -> String {
        match self {
            Error::Kernel { op, errno, detail } => match detail {
                Some(d) => format!("{} ({d})", reason(*op, *errno)),
                None => reason(*op, *errno),
            },
            other => other.to_string(),
        }
    }

    pub(crate) fn from_sys(op: Operation, e: ipvs_sys::Error) -> Self {
        match e {
            ipvs_sys::Error::Kernel(k) => Error::Kernel {
                op,
                errno: k.errno,
                detail: k.ext_ack,
            },
            ipvs_sys::Error::FamilyNotFound => Error::NotAvailable {
                modprobe_status: None,
                modprobe_stderr: String::new(),
            },
            ipvs_sys::Error::Timeout => Error::Timeout { op },
            ipvs_sys::Error::Io(source) => match source.raw_os_error() {
                // Socket-level refusals mean the same as the kernel's.
                Some(errno) if errno == libc::EPERM => Error::Kernel {
                    op,
                    errno,
                    detail: None,
                },
                _ => Error::Io { op, source },
            },
            ipvs_sys::Error::DumpInterrupted => Error::DumpInterrupted { op },
            ipvs_sys::Error::Decode(d) => Error::Decode {
                op,
                detail: d.to_string(),
            },
            other => Error::Decode {
                op,
                detail: other.to_string(),
            },
        }
    }
}

/// [`Error::NotAvailable`] in words, with what modprobe said.
fn not_available(status: Option<&std::process::ExitStatus>, stderr: &str) -> String {
    let head = "IPVS is not available in this kernel (no generic netlink family \"IPVS\"";
    match (status, stderr) {
        (None, "") => format!("{head}; `modprobe ip_vs` was not run)"),
        (None, why) => format!("{head}; `modprobe ip_vs` could not be started: {why})"),
        (Some(st), "") => format!("{head}, and `modprobe ip_vs` did not help: {st})"),
        (Some(st), err) => format!("{head}, and `modprobe ip_vs` did not help: {st}: {err})"),
    }
}

/// Why the kernel refused `op` with `errno`, in words.
fn reason(op: Operation, errno: i32) -> String {
    use Operation::*;
    let specific = match (op, errno) {
        (AddService, libc::EEXIST) => "the service already exists",
        (AddService | EditService, libc::ENOENT) => {
            "the kernel has no such scheduler or persistence engine"
        }
        (AddDestination | EditDestination | DeleteDestination, libc::ESRCH) => {
            "the service does not exist"
        }
        (_, libc::ESRCH) if op != StopDaemon => "the service does not exist",
        (AddDestination, libc::EEXIST) => "the destination already exists",
        (EditDestination | DeleteDestination, libc::ENOENT) => "the destination does not exist",
        (StartDaemon, libc::EEXIST) => "a sync daemon in that state runs already",
        (StopDaemon, libc::ESRCH) => "no sync daemon in that state runs",
        (_, libc::EPERM) => "permission denied (CAP_NET_ADMIN is needed)",
        (_, libc::EINVAL) => "the kernel rejected a value as invalid",
        _ => return format!("{} ({})", strerror(errno), errno_name(errno)),
    };
    specific.to_string()
}

/// The symbolic name of the errnos IPVS answers with.
fn errno_name(errno: i32) -> String {
    let name = match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::ENOMEM => "ENOMEM",
        libc::EEXIST => "EEXIST",
        libc::EINVAL => "EINVAL",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::ENOPROTOOPT => "ENOPROTOOPT",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        _ => return format!("errno {errno}"),
    };
    name.to_string()
}

/// [`Operation::ipvsadm_message`].
fn ipvsadm_message(op: Operation, errno: i32) -> String {
    use Operation::*;
    let specific = match (op, errno) {
        (AddService, libc::EEXIST) => Some("Service already exists"),
        (AddService | EditService, libc::ENOENT) => {
            Some("Scheduler or persistence engine not found")
        }
        (EditService | DeleteService | Zero | GetServices | GetDestinations, libc::ESRCH) => {
            Some("No such service")
        }
        (AddDestination | EditDestination | DeleteDestination, libc::ESRCH) => {
            Some("Service not defined")
        }
        (AddDestination, libc::EEXIST) => Some("Destination already exists"),
        (EditDestination | DeleteDestination, libc::ENOENT) => Some("No such destination"),
        (StartDaemon, libc::EEXIST) => Some("Daemon has already run"),
        (StopDaemon, libc::ESRCH) => Some("No daemon is running"),
        (_, libc::EPERM) => Some("Permission denied (you must be root)"),
        (_, libc::EINVAL) => {
            Some("Invalid operation.  Possibly wrong module version, address not unicast, ...")
        }
        (_, libc::ENOPROTOOPT) => Some("Protocol not available"),
        (_, libc::ENOMEM) => Some("Memory allocation problem"),
        (_, libc::EOPNOTSUPP) => Some("Operation not supported with IPv6"),
        (_, libc::EAFNOSUPPORT) => Some("Operation not supported with specified address family"),
        (_, libc::EMSGSIZE) => Some("Module is wrong version"),
        _ => None,
    };
    match specific {
        Some(s) => s.to_string(),
        None => strerror(errno),
    }
}

/// The C library's text for an errno, without Rust's " (os error N)" suffix.
fn strerror(errno: i32) -> String {
    let s = io::Error::from_raw_os_error(errno).to_string();
    match s.rfind(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Result of this crate's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_available_says_what_modprobe_said() {
        use std::os::unix::process::ExitStatusExt;
        let e = Error::NotAvailable {
            modprobe_status: Some(std::process::ExitStatus::from_raw(1 << 8)),
            modprobe_stderr:
                "modprobe: FATAL: Module ip_vs not found in directory /lib/modules/6.1.0".into(),
        };
        assert_eq!(
            e.to_string(),
            "IPVS is not available in this kernel (no generic netlink family \"IPVS\", and \
             `modprobe ip_vs` did not help: exit status: 1: modprobe: FATAL: Module ip_vs not \
             found in directory /lib/modules/6.1.0)"
        );
        let e = Error::NotAvailable {
            modprobe_status: None,
            modprobe_stderr: "modprobe: No such file or directory (os error 2)".into(),
        };
        assert!(
            e.to_string().ends_with(
                "`modprobe ip_vs` could not be started: modprobe: No such file or directory (os error 2))"
            ),
            "{e}"
        );
    }

    #[test]
    fn kernel_errors_read_in_words_and_as_ipvsadm() {
        let e = Error::Kernel {
            op: Operation::AddService,
            errno: libc::EEXIST,
            detail: None,
        };
        assert_eq!(
            e.to_string(),
            "adding a service: the service already exists"
        );
        assert_eq!(e.ipvsadm_message(), "Service already exists");
        let e = Error::Kernel {
            op: Operation::EditService,
            errno: libc::ENOENT,
            detail: None,
        };
        assert_eq!(
            e.to_string(),
            "editing a service: the kernel has no such scheduler or persistence engine"
        );
        assert_eq!(
            e.ipvsadm_message(),
            "Scheduler or persistence engine not found"
        );
        let e = Error::Kernel {
            op: Operation::AddDestination,
            errno: libc::EINVAL,
            detail: Some("bad tunnel port".into()),
        };
        assert_eq!(
            e.to_string(),
            "adding a destination: the kernel rejected a value as invalid (bad tunnel port)"
        );
        let e = Error::Kernel {
            op: Operation::Flush,
            errno: libc::EBUSY,
            detail: None,
        };
        assert_eq!(
            e.to_string(),
            "deleting every service: Device or resource busy (errno 16)"
        );
        assert_eq!(e.ipvsadm_message(), "Device or resource busy");
    }
}
