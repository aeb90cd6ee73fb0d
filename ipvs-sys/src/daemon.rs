//! Sync-daemon attributes (`IPVS_DAEMON_ATTR_*`), nested under `IPVS_CMD_ATTR_DAEMON`.

use std::net::{Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{DecodeError, DefaultNla, Nla, NlaBuffer, Parseable};

use crate::attr::*;
use crate::consts::*;

/// One sync-daemon attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DaemonAttr {
    /// `IP_VS_STATE_MASTER` or `IP_VS_STATE_BACKUP`.
    State(u32),
    /// Multicast interface name.
    McastIfn(String),
    /// Sync id.
    SyncId(u32),
    /// Maximum sync message length (4.3+).
    SyncMaxlen(u16),
    /// IPv4 multicast group (4.3+).
    McastGroup(Ipv4Addr),
    /// IPv6 multicast group (4.3+).
    McastGroup6(Ipv6Addr),
    /// Multicast UDP port, host order on the wire (the kernel uses `nla_get_u16`).
    McastPort(u16),
    /// Multicast TTL (4.3+).
    McastTtl(u8),
    /// An attribute this crate does not know, kept byte for byte.
    Other(DefaultNla),
}

impl Nla for DaemonAttr {
    fn value_len(&self) -> usize {
        use DaemonAttr::*;
        match self {
            State(_) | SyncId(_) | McastGroup(_) => 4,
            McastIfn(s) => cstr_len(s),
            SyncMaxlen(_) | McastPort(_) => 2,
            McastGroup6(_) => 16,
            McastTtl(_) => 1,
            Other(o) => o.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use DaemonAttr::*;
        match self {
            State(_) => IPVS_DAEMON_ATTR_STATE,
            McastIfn(_) => IPVS_DAEMON_ATTR_MCAST_IFN,
            SyncId(_) => IPVS_DAEMON_ATTR_SYNC_ID,
            SyncMaxlen(_) => IPVS_DAEMON_ATTR_SYNC_MAXLEN,
            McastGroup(_) => IPVS_DAEMON_ATTR_MCAST_GROUP,
            McastGroup6(_) => IPVS_DAEMON_ATTR_MCAST_GROUP6,
            McastPort(_) => IPVS_DAEMON_ATTR_MCAST_PORT,
            McastTtl(_) => IPVS_DAEMON_ATTR_MCAST_TTL,
            Other(o) => o.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        use DaemonAttr::*;
        match self {
            State(v) | SyncId(v) => buf.copy_from_slice(&v.to_ne_bytes()),
            McastIfn(s) => emit_cstr(s, buf),
            SyncMaxlen(v) | McastPort(v) => buf.copy_from_slice(&v.to_ne_bytes()),
            McastGroup(a) => buf.copy_from_slice(&a.octets()),
            McastGroup6(a) => buf.copy_from_slice(&a.octets()),
            McastTtl(v) => buf[0] = *v,
            Other(o) => o.emit_value(buf),
        }
    }
}

impl<'a> Parseable<NlaBuffer<&'a [u8]>> for DaemonAttr {
    fn parse(nla: &NlaBuffer<&'a [u8]>) -> Result<Self, DecodeError> {
        use DaemonAttr::*;
        let v = nla.value();
        Ok(match kind(nla) {
            IPVS_DAEMON_ATTR_STATE => State(u32_of(v, "IPVS_DAEMON_ATTR_STATE")?),
            IPVS_DAEMON_ATTR_MCAST_IFN => McastIfn(string_of(
                v,
                IP_VS_IFNAME_MAXLEN,
                "IPVS_DAEMON_ATTR_MCAST_IFN",
            )?),
            IPVS_DAEMON_ATTR_SYNC_ID => SyncId(u32_of(v, "IPVS_DAEMON_ATTR_SYNC_ID")?),
            IPVS_DAEMON_ATTR_SYNC_MAXLEN => SyncMaxlen(u16_of(v, "IPVS_DAEMON_ATTR_SYNC_MAXLEN")?),
            IPVS_DAEMON_ATTR_MCAST_GROUP => {
                let b: [u8; 4] = u32_of(v, "IPVS_DAEMON_ATTR_MCAST_GROUP")?.to_ne_bytes();
                McastGroup(Ipv4Addr::from(b))
            }
            IPVS_DAEMON_ATTR_MCAST_GROUP6 => {
                let b: [u8; 16] = v.try_into().map_err(|_| {
                    DecodeError::from(format!(
                        "IPVS_DAEMON_ATTR_MCAST_GROUP6: expected 16 bytes, got {}",
                        v.len()
                    ))
                })?;
                McastGroup6(Ipv6Addr::from(b))
            }
            IPVS_DAEMON_ATTR_MCAST_PORT => McastPort(u16_of(v, "IPVS_DAEMON_ATTR_MCAST_PORT")?),
            IPVS_DAEMON_ATTR_MCAST_TTL => McastTtl(u8_of(v, "IPVS_DAEMON_ATTR_MCAST_TTL")?),
            _ => Other(DefaultNla::parse(nla)?),
        })
    }
}
