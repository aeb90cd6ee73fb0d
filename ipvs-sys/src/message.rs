//! An IPVS generic-netlink message: the 4-byte genl header and the top-level
//! attributes (`IPVS_CMD_ATTR_*`, or `IPVS_INFO_ATTR_*` in a `SET_INFO` reply).

use std::marker::PhantomData;

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

/// Writes an IPVS generic-netlink payload straight into a buffer, attribute by attribute: the
/// bytes [`IpvsMessage`]'s `emit` writes, without building the message first. A batch of
/// thousands of changes then needs no `Vec` per nest and no walk to size a nest (its length is
/// filled in when it ends). Each attribute keeps its encoding in its type's [`Nla`] impl.
///
/// ```
/// use ipvs_sys::{Command, IpvsMessage, PayloadWriter, ServiceAttr};
/// let mut out = Vec::new();
/// PayloadWriter::new(&mut out, Command::DelService).service(|s| {
///     s.attr(&ServiceAttr::Af(2)).attr(&ServiceAttr::Fwmark(7));
/// });
/// let msg = IpvsMessage::parse(&out).unwrap();
/// assert_eq!(msg.service(), Some(&[ServiceAttr::Af(2), ServiceAttr::Fwmark(7)][..]));
/// ```
#[derive(Debug)]
pub struct PayloadWriter<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> PayloadWriter<'a> {
    /// Starts a payload of `cmd` (version `IPVS_GENL_VERSION`) at the end of `out`.
    pub fn new(out: &'a mut Vec<u8>, cmd: Command) -> Self {
        out.extend_from_slice(&[cmd.into(), IPVS_GENL_VERSION, 0, 0]);
        PayloadWriter { out }
    }

    /// A top-level attribute.
    pub fn attr(&mut self, attr: &Attr) -> &mut Self {
        push_one(self.out, attr);
        self
    }

    /// The service nest, `IPVS_CMD_ATTR_SERVICE`, with the attributes `f` writes.
    #[inline]
    pub fn service(&mut self, f: impl FnOnce(&mut Nest<'_, ServiceAttr>)) -> &mut Self {
        self.nest(IPVS_CMD_ATTR_SERVICE, f)
    }

    /// The destination nest, `IPVS_CMD_ATTR_DEST`, with the attributes `f` writes.
    #[inline]
    pub fn dest(&mut self, f: impl FnOnce(&mut Nest<'_, DestAttr>)) -> &mut Self {
        self.nest(IPVS_CMD_ATTR_DEST, f)
    }

    /// The daemon nest, `IPVS_CMD_ATTR_DAEMON`, with the attributes `f` writes.
    pub fn daemon(&mut self, f: impl FnOnce(&mut Nest<'_, DaemonAttr>)) -> &mut Self {
        self.nest(IPVS_CMD_ATTR_DAEMON, f)
    }

    #[inline]
    fn nest<T: Nla>(&mut self, kind: u16, f: impl FnOnce(&mut Nest<'_, T>)) -> &mut Self {
        let at = self.out.len();
        self.out.extend_from_slice(&[0; 4]);
        f(&mut Nest {
            out: self.out,
            of: PhantomData,
        });
        // Every attribute inside is padded, so the nest ends aligned.
        let len = (self.out.len() - at) as u16;
        self.out[at..at + 2].copy_from_slice(&len.to_ne_bytes());
        self.out[at + 2..at + 4].copy_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        self
    }
}

/// The inside of a nest that a [`PayloadWriter`] is writing: attributes of one set.
#[derive(Debug)]
pub struct Nest<'a, T> {
    out: &'a mut Vec<u8>,
    of: PhantomData<fn(&T)>,
}

impl<T: Nla> Nest<'_, T> {
    /// Appends one attribute.
    #[inline(always)]
    pub fn attr(&mut self, attr: &T) -> &mut Self {
        push_one(self.out, attr);
        self
    }
}

impl<T: Nla> Extend<T> for Nest<'_, T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, attrs: I) {
        for a in attrs {
            push_one(self.out, &a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::FlagsMask;

    fn emitted(msg: &IpvsMessage) -> Vec<u8> {
        let mut out = vec![0; msg.buffer_len()];
        msg.emit(&mut out);
        out
    }

    #[test]
    fn the_writer_writes_what_the_message_emits() {
        let service = vec![
            ServiceAttr::Af(10),
            ServiceAttr::Protocol(6),
            ServiceAttr::Addr([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            ServiceAttr::Port(443),
            // Odd lengths, so that padding is written; an unknown attribute of 40 bytes,
            // longer than the writer's block on the stack.
            ServiceAttr::SchedName("wrr".into()),
            ServiceAttr::PeName("sip".into()),
            ServiceAttr::Flags(FlagsMask { flags: 3, mask: !0 }),
            ServiceAttr::Other(DefaultNla::new(99, (0..40).collect())),
            ServiceAttr::Netmask(128),
        ];
        let dest = vec![DestAttr::Port(80), DestAttr::Weight(7)];
        let daemon = vec![DaemonAttr::State(1), DaemonAttr::McastIfn("eth0".into())];
        let msg = IpvsMessage::new(
            Command::NewDest,
            vec![
                Attr::Service(service.clone()),
                Attr::Dest(dest.clone()),
                Attr::TimeoutTcp(900),
                Attr::Daemon(daemon.clone()),
            ],
        );
        let mut out = vec![0xee]; // appends after what is there
        PayloadWriter::new(&mut out, Command::NewDest)
            .service(|n| n.extend(service))
            .dest(|n| {
                n.attr(&dest[0]).attr(&dest[1]);
            })
            .attr(&Attr::TimeoutTcp(900))
            .daemon(|n| n.extend(daemon));
        assert_eq!(out[0], 0xee);
        assert_eq!(out[1..], emitted(&msg)[..]);
        assert_eq!(IpvsMessage::parse(&out[1..]).unwrap(), msg);
    }
}
