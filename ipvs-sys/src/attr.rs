//! Small shared pieces for the attribute sets: value parsers with the
//! length checks the kernel data must pass, and nested-list encoding.

use netlink_packet_core::{
    parse_u16, parse_u16_be, parse_u32, parse_u64, parse_u8, DecodeError, Emitable, ErrorContext,
    Nla, NlaBuffer, NlasIterator, NLA_ALIGNTO, NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_HEADER_SIZE,
    NLA_TYPE_MASK,
};

/// Length of a nested list of attributes, padding included.
pub(crate) fn nested_len<T: Nla>(nlas: &[T]) -> usize {
    nlas.iter().map(Emitable::buffer_len).sum()
}

/// Emits a nested list of attributes into `buf`, which is exactly `nested_len` long.
pub(crate) fn emit_nested<T: Nla>(nlas: &[T], buf: &mut [u8]) {
    let mut at = 0;
    for nla in nlas {
        at += emit_one(nla, &mut buf[at..]);
    }
}

/// Emits one attribute at the start of `buf` and returns its length with padding: the
/// bytes netlink-packet-core's `Emitable::emit` writes, but with `value_len` asked once
/// (that `emit` asks it three times and `buffer_len` twice more; for a nest, each time
/// walks the nested attributes again).
pub(crate) fn emit_one<T: Nla>(nla: &T, buf: &mut [u8]) -> usize {
    let value_len = nla.value_len();
    let len = NLA_HEADER_SIZE + value_len;
    let padded = (len + NLA_ALIGNTO - 1) & !(NLA_ALIGNTO - 1);
    let mut kind = nla.kind() & NLA_TYPE_MASK;
    if nla.is_network_byteorder() {
        kind |= NLA_F_NET_BYTEORDER;
    }
    if nla.is_nested() {
        kind |= NLA_F_NESTED;
    }
    buf[..2].copy_from_slice(&(len as u16).to_ne_bytes());
    buf[2..4].copy_from_slice(&kind.to_ne_bytes());
    nla.emit_value(&mut buf[NLA_HEADER_SIZE..len]);
    buf[len..padded].fill(0);
    padded
}

/// Parses every attribute of `payload` with `parse_one`, failing on the first bad one.
pub(crate) fn parse_nested<T>(
    payload: &[u8],
    what: &str,
    mut parse_one: impl FnMut(&NlaBuffer<&[u8]>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    // Attributes of a value take at least 8 bytes with header and padding: one allocation.
    let mut out = Vec::with_capacity(payload.len() / 8);
    for nla in NlasIterator::new(payload) {
        let nla = nla.map_err(|e| DecodeError::from(format!("malformed {what} attribute: {e}")))?;
        out.push(parse_one(&nla)?);
    }
    Ok(out)
}

/// The attribute number without the nested and byte-order flag bits.
pub(crate) fn kind(nla: &NlaBuffer<&[u8]>) -> u16 {
    nla.kind() & NLA_TYPE_MASK
}

// Fixed-size values: netlink-packet-core's parsers (exact length, native or network byte
// order), with the attribute's name added to the error.
pub(crate) fn u8_of(v: &[u8], what: &str) -> Result<u8, DecodeError> {
    parse_u8(v).context(what)
}
pub(crate) fn u16_of(v: &[u8], what: &str) -> Result<u16, DecodeError> {
    parse_u16(v).context(what)
}
pub(crate) fn be16_of(v: &[u8], what: &str) -> Result<u16, DecodeError> {
    parse_u16_be(v).context(what)
}
pub(crate) fn u32_of(v: &[u8], what: &str) -> Result<u32, DecodeError> {
    parse_u32(v).context(what)
}
pub(crate) fn u64_of(v: &[u8], what: &str) -> Result<u64, DecodeError> {
    parse_u64(v).context(what)
}

/// A NUL-terminated string of at most `max` bytes, NUL included. Not the core crate's
/// `parse_string`, which has no length limit and keeps what follows an inner NUL.
pub(crate) fn string_of(v: &[u8], max: usize, what: &str) -> Result<String, DecodeError> {
    if v.len() > max {
        return Err(DecodeError::from(format!(
            "{what}: {} bytes, more than the {max} allowed",
            v.len()
        )));
    }
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    String::from_utf8(v[..end].to_vec()).map_err(|e| DecodeError::from(format!("{what}: {e}")))
}

/// An address attribute: up to 16 bytes, zero-padded as the kernel's `nla_memcpy` does (the
/// core crate's `parse_ip`/`parse_ipv6` take exactly 4 or 16).
pub(crate) fn addr_of(v: &[u8], what: &str) -> Result<[u8; 16], DecodeError> {
    if v.len() > 16 {
        return Err(DecodeError::from(format!(
            "{what}: {} bytes, more than 16",
            v.len()
        )));
    }
    let mut a = [0u8; 16];
    a[..v.len()].copy_from_slice(v);
    Ok(a)
}

/// Bytes of a NUL-terminated string attribute value.
pub(crate) fn cstr_len(s: &str) -> usize {
    s.len() + 1
}
pub(crate) fn emit_cstr(s: &str, buf: &mut [u8]) {
    buf[..s.len()].copy_from_slice(s.as_bytes());
    buf[s.len()] = 0;
}
