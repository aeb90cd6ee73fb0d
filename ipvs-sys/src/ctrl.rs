//! The generic-netlink controller request that resolves the "IPVS" family id.

use netlink_packet_core::{DecodeError, Emitable, ErrorContext, Nla, NlasIterator};

use crate::attr::{cstr_len, emit_cstr, kind, u16_of};
use crate::consts::*;

/// `CTRL_CMD_GETFAMILY` for one family name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetFamily<'a>(pub &'a str);

struct FamilyName<'a>(&'a str);

impl Nla for FamilyName<'_> {
    fn value_len(&self) -> usize {
        cstr_len(self.0)
    }
    fn kind(&self) -> u16 {
        CTRL_ATTR_FAMILY_NAME
    }
    fn emit_value(&self, buf: &mut [u8]) {
        emit_cstr(self.0, buf)
    }
}

impl Emitable for GetFamily<'_> {
    fn buffer_len(&self) -> usize {
        4 + FamilyName(self.0).buffer_len()
    }
    fn emit(&self, buf: &mut [u8]) {
        // The controller speaks version 2 and has no family header.
        buf[..4].copy_from_slice(&[CTRL_CMD_GETFAMILY, 2, 0, 0]);
        FamilyName(self.0).emit(&mut buf[4..]);
    }
}

/// Reads `CTRL_ATTR_FAMILY_ID` out of a `CTRL_CMD_NEWFAMILY` payload.
pub fn parse_family_id(payload: &[u8]) -> Result<u16, DecodeError> {
    let attrs = payload
        .get(4..)
        .ok_or_else(|| DecodeError::from("controller reply shorter than its genl header"))?;
    let mut id = None;
    for nla in NlasIterator::new(attrs) {
        let nla = nla.context("malformed controller attribute")?;
        if id.is_none() && kind(&nla) == CTRL_ATTR_FAMILY_ID {
            id = Some(u16_of(nla.value(), "CTRL_ATTR_FAMILY_ID")?);
        }
    }
    id.ok_or_else(|| DecodeError::from("controller reply without CTRL_ATTR_FAMILY_ID"))
}
