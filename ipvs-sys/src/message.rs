//! An IPVS generic-netlink message: the 4-byte genl header and the top-level
//! attributes (`IPVS_CMD_ATTR_*`, or `IPVS_INFO_ATTR_*` in a `SET_INFO` reply).

use netlink_packet_core::{
    DecodeError, DefaultNla, Emitable, Nla, NlaBuffer, Parseable, ParseableParametrized,
    NLA_F_NESTED,
};

use crate::attr::*;
use crate::consts::*;
use crate::daemon::DaemonAttr;
use crate::dest::DestAttr;
use crate::service::ServiceAttr;

/// Length of `struct genlmsghdr`.
pub const GENL_HDRLEN: usize = 4;

/// An IPVS command (`enum ipvs_cmd_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Command {
    /// `IPVS_CMD_NEW_SERVICE`.
    NewService,
    /// `IPVS_CMD_SET_SERVICE`.
    SetService,
    /// `IPVS_CMD_DEL_SERVICE`.
    DelService,
    /// `IPVS_CMD_GET_SERVICE`.
    GetService,
    /// `IPVS_CMD_NEW_DEST`.
    NewDest,
    /// `IPVS_CMD_SET_DEST`.
    SetDest,
    /// `IPVS_CMD_DEL_DEST`.
    DelDest,
    /// `IPVS_CMD_GET_DEST`.
    GetDest,
    /// `IPVS_CMD_NEW_DAEMON`.
    NewDaemon,
    /// `IPVS_CMD_DEL_DAEMON`.
    DelDaemon,
    /// `IPVS_CMD_GET_DAEMON`.
    GetDaemon,
    /// `IPVS_CMD_SET_CONFIG`.
    SetConfig,
    /// `IPVS_CMD_GET_CONFIG`.
    GetConfig,
    /// `IPVS_CMD_SET_INFO` (reply to `GET_INFO`).
    SetInfo,
    /// `IPVS_CMD_GET_INFO`.
    GetInfo,
    /// `IPVS_CMD_ZERO`.
    Zero,
    /// `IPVS_CMD_FLUSH`.
    Flush,
    /// A command number this crate does not know.
    Other(u8),
}

impl From<u8> for Command {
    fn from(v: u8) -> Self {
        use Command::*;
        match v {
            IPVS_CMD_NEW_SERVICE => NewService,
            IPVS_CMD_SET_SERVICE => SetService,
            IPVS_CMD_DEL_SERVICE => DelService,
            IPVS_CMD_GET_SERVICE => GetService,
            IPVS_CMD_NEW_DEST => NewDest,
            IPVS_CMD_SET_DEST => SetDest,
            IPVS_CMD_DEL_DEST => DelDest,
            IPVS_CMD_GET_DEST => GetDest,
            IPVS_CMD_NEW_DAEMON => NewDaemon,
            IPVS_CMD_DEL_DAEMON => DelDaemon,
            IPVS_CMD_GET_DAEMON => GetDaemon,
            IPVS_CMD_SET_CONFIG => SetConfig,
            IPVS_CMD_GET_CONFIG => GetConfig,
            IPVS_CMD_SET_INFO => SetInfo,
            IPVS_CMD_GET_INFO => GetInfo,
            IPVS_CMD_ZERO => Zero,
            IPVS_CMD_FLUSH => Flush,
            other => Other(other),
        }
    }
}

impl From<Command> for u8 {
    fn from(c: Command) -> u8 {
        use Command::*;
        match c {
            NewService => IPVS_CMD_NEW_SERVICE,
            SetService => IPVS_CMD_SET_SERVICE,
            DelService => IPVS_CMD_DEL_SERVICE,
            GetService => IPVS_CMD_GET_SERVICE,
            NewDest => IPVS_CMD_NEW_DEST,
            SetDest => IPVS_CMD_SET_DEST,
            DelDest => IPVS_CMD_DEL_DEST,
            GetDest => IPVS_CMD_GET_DEST,
            NewDaemon => IPVS_CMD_NEW_DAEMON,
            DelDaemon => IPVS_CMD_DEL_DAEMON,
            GetDaemon => IPVS_CMD_GET_DAEMON,
            SetConfig => IPVS_CMD_SET_CONFIG,
            GetConfig => IPVS_CMD_GET_CONFIG,
            SetInfo => IPVS_CMD_SET_INFO,
            GetInfo => IPVS_CMD_GET_INFO,
            Zero => IPVS_CMD_ZERO,
            Flush => IPVS_CMD_FLUSH,
            Other(v) => v,
        }
    }
}

/// An info attribute (`IPVS_INFO_ATTR_*`), found at the top level of `SET_INFO`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InfoAttr {
    /// Version code, e.g. `0x010201`.
    Version(u32),
    /// Connection hash table size.
    ConnTabSize(u32),
}

/// A top-level attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Attr {
    /// Nested service.
    Service(Vec<ServiceAttr>),
    /// Nested destination.
    Dest(Vec<DestAttr>),
    /// Nested sync daemon.
    Daemon(Vec<DaemonAttr>),
    /// TCP timeout in seconds (0 in a SET: unchanged).
    TimeoutTcp(u32),
    /// TCP FIN_WAIT timeout in seconds.
    TimeoutTcpFin(u32),
    /// UDP timeout in seconds.
    TimeoutUdp(u32),
    /// An info attribute (only in `SET_INFO`, where the numbers mean `IPVS_INFO_ATTR_*`).
    Info(InfoAttr),
    /// An attribute this crate does not know, kept byte for byte.
    Other(DefaultNla),
}

impl Nla for Attr {
    fn value_len(&self) -> usize {
        match self {
            Attr::Service(a) => nested_len(a),
            Attr::Dest(a) => nested_len(a),
            Attr::Daemon(a) => nested_len(a),
            Attr::TimeoutTcp(_) | Attr::TimeoutTcpFin(_) | Attr::TimeoutUdp(_) | Attr::Info(_) => 4,
            Attr::Other(o) => o.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Attr::Service(_) => IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED,
            Attr::Dest(_) => IPVS_CMD_ATTR_DEST | NLA_F_NESTED,
            Attr::Daemon(_) => IPVS_CMD_ATTR_DAEMON | NLA_F_NESTED,
            Attr::TimeoutTcp(_) => IPVS_CMD_ATTR_TIMEOUT_TCP,
            Attr::TimeoutTcpFin(_) => IPVS_CMD_ATTR_TIMEOUT_TCP_FIN,
            Attr::TimeoutUdp(_) => IPVS_CMD_ATTR_TIMEOUT_UDP,
            Attr::Info(InfoAttr::Version(_)) => IPVS_INFO_ATTR_VERSION,
            Attr::Info(InfoAttr::ConnTabSize(_)) => IPVS_INFO_ATTR_CONN_TAB_SIZE,
            Attr::Other(o) => o.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match self {
            Attr::Service(a) => emit_nested(a, buf),
            Attr::Dest(a) => emit_nested(a, buf),
            Attr::Daemon(a) => emit_nested(a, buf),
            Attr::TimeoutTcp(v)
            | Attr::TimeoutTcpFin(v)
            | Attr::TimeoutUdp(v)
            | Attr::Info(InfoAttr::Version(v))
            | Attr::Info(InfoAttr::ConnTabSize(v)) => buf.copy_from_slice(&v.to_ne_bytes()),
            Attr::Other(o) => o.emit_value(buf),
        }
    }
}

/// Decodes one top-level attribute of a message with command `cmd` (which says whether the
/// numbers mean `IPVS_CMD_ATTR_*` or `IPVS_INFO_ATTR_*`).
impl<'a> ParseableParametrized<NlaBuffer<&'a [u8]>, Command> for Attr {
    fn parse_with_param(nla: &NlaBuffer<&'a [u8]>, cmd: Command) -> Result<Self, DecodeError> {
        let v = nla.value();
        let k = kind(nla);
        if cmd == Command::SetInfo || cmd == Command::GetInfo {
            return Ok(match k {
                IPVS_INFO_ATTR_VERSION => {
                    Attr::Info(InfoAttr::Version(u32_of(v, "IPVS_INFO_ATTR_VERSION")?))
                }
                IPVS_INFO_ATTR_CONN_TAB_SIZE => Attr::Info(InfoAttr::ConnTabSize(u32_of(
                    v,
                    "IPVS_INFO_ATTR_CONN_TAB_SIZE",
                )?)),
                _ => Attr::Other(DefaultNla::parse(nla)?),
            });
        }
        Ok(match k {
            IPVS_CMD_ATTR_SERVICE => {
                Attr::Service(parse_nested(v, "service", |n| ServiceAttr::parse(n))?)
            }
            IPVS_CMD_ATTR_DEST => {
                Attr::Dest(parse_nested(v, "destination", |n| DestAttr::parse(n))?)
            }
            IPVS_CMD_ATTR_DAEMON => {
                Attr::Daemon(parse_nested(v, "daemon", |n| DaemonAttr::parse(n))?)
            }
            IPVS_CMD_ATTR_TIMEOUT_TCP => Attr::TimeoutTcp(u32_of(v, "IPVS_CMD_ATTR_TIMEOUT_TCP")?),
            IPVS_CMD_ATTR_TIMEOUT_TCP_FIN => {
                Attr::TimeoutTcpFin(u32_of(v, "IPVS_CMD_ATTR_TIMEOUT_TCP_FIN")?)
            }
            IPVS_CMD_ATTR_TIMEOUT_UDP => Attr::TimeoutUdp(u32_of(v, "IPVS_CMD_ATTR_TIMEOUT_UDP")?),
            _ => Attr::Other(DefaultNla::parse(nla)?),
        })
    }
}

/// An IPVS generic-netlink payload: command, version and attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvsMessage {
    /// The command.
    pub cmd: Command,
    /// The genl version byte (`IPVS_GENL_VERSION` when we send).
    pub version: u8,
    /// Top-level attributes, in order.
    pub attrs: Vec<Attr>,
}

impl IpvsMessage {
    /// A message of `cmd` with `attrs`, version `IPVS_GENL_VERSION`.
    pub fn new(cmd: Command, attrs: Vec<Attr>) -> Self {
        IpvsMessage {
            cmd,
            version: IPVS_GENL_VERSION,
            attrs,
        }
    }

    /// Decodes the genl payload (the bytes after `struct nlmsghdr`).
    pub fn parse(payload: &[u8]) -> Result<Self, DecodeError> {
        if payload.len() < GENL_HDRLEN {
            return Err(DecodeError::from(format!(
                "generic netlink header: {} bytes, need {GENL_HDRLEN}",
                payload.len()
            )));
        }
        let cmd = Command::from(payload[0]);
        let attrs = parse_nested(&payload[GENL_HDRLEN..], "top-level", |nla| {
            Attr::parse_with_param(nla, cmd)
        })?;
        Ok(IpvsMessage {
            cmd,
            version: payload[1],
            attrs,
        })
    }

    /// The first nested service, if any.
    pub fn service(&self) -> Option<&[ServiceAttr]> {
        self.attrs.iter().find_map(|a| match a {
            Attr::Service(s) => Some(s.as_slice()),
            _ => None,
        })
    }

    /// The first nested destination, if any.
    pub fn dest(&self) -> Option<&[DestAttr]> {
        self.attrs.iter().find_map(|a| match a {
            Attr::Dest(d) => Some(d.as_slice()),
            _ => None,
        })
    }

    /// The first nested daemon, if any.
    pub fn daemon(&self) -> Option<&[DaemonAttr]> {
        self.attrs.iter().find_map(|a| match a {
            Attr::Daemon(d) => Some(d.as_slice()),
            _ => None,
        })
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        GENL_HDRLEN + crate::attr::nested_len(&self.attrs)
    }

    fn emit(&self, buf: &mut [u8]) {
        buf[0] = self.cmd.into();
        buf[1] = self.version;
        buf[2] = 0;
        buf[3] = 0;
        crate::attr::emit_nested(&self.attrs, &mut buf[GENL_HDRLEN..]);
    }
}
