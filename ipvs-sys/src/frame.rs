//! Netlink framing: `struct nlmsghdr` around a payload on the way out, and the
//! split of a received datagram into data, error/ACK and done messages.

use netlink_packet_core::{
    DecodeError, Emitable, NetlinkBuffer, NetlinkHeader, NlasIterator, NLMSG_DONE, NLMSG_ERROR,
    NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_ACK_TLVS, NLM_F_CAPPED,
};

use crate::consts::NLMSGERR_ATTR_MSG;

/// Length of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;

/// Builds one netlink message: header plus `payload`, padded to 4 bytes.
pub fn encode(message_type: u16, flags: u16, seq: u32, payload: &impl Emitable) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(&mut out, message_type, flags, seq, payload);
    out
}

/// Appends one message, as [`encode`] builds it, to `out` (many messages share one buffer
/// in a batch send). Returns its length with padding.
pub fn encode_into(
    out: &mut Vec<u8>,
    message_type: u16,
    flags: u16,
    seq: u32,
    payload: &impl Emitable,
) -> usize {
    encode_with(out, message_type, flags, seq, |out| {
        push_emitable(out, payload)
    })
}

/// Appends `payload`'s bytes to `out`.
pub(crate) fn push_emitable(out: &mut Vec<u8>, payload: &impl Emitable) {
    let at = out.len();
    out.resize(at + payload.buffer_len(), 0);
    payload.emit(&mut out[at..]);
}

/// Appends one message whose payload `write` appends to `out` (a [`PayloadWriter`]
/// writes one without building it first). Returns its length with padding.
///
/// [`PayloadWriter`]: crate::PayloadWriter
pub fn encode_with(
    out: &mut Vec<u8>,
    message_type: u16,
    flags: u16,
    seq: u32,
    write: impl FnOnce(&mut Vec<u8>),
) -> usize {
    let start = out.len();
    out.resize(start + NLMSG_HDRLEN, 0);
    write(out);
    let len = out.len() - start;
    let padded = (len + 3) & !3;
    out.resize(start + padded, 0);
    let mut header = NetlinkHeader::default();
    header.length = len as u32;
    header.message_type = message_type;
    header.flags = flags;
    header.sequence_number = seq;
    header.port_number = 0;
    header.emit(&mut out[start..start + NLMSG_HDRLEN]);
    padded
}

/// What one received netlink message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body<'a> {
    /// A message of the family: its payload after `nlmsghdr`.
    Data(&'a [u8]),
    /// `NLMSG_ERROR`: `errno` 0 is an ACK, otherwise the positive errno.
    /// `ext_ack` is the kernel's extended-ACK text when it sent one.
    Error {
        /// Positive errno, or 0 for an ACK.
        errno: i32,
        /// `NLMSGERR_ATTR_MSG`, when present.
        ext_ack: Option<String>,
    },
    /// `NLMSG_DONE`: the end of a dump; a non-zero `errno` means the dump failed.
    Done {
        /// Positive errno, or 0.
        errno: i32,
    },
    /// `NLMSG_NOOP` or `NLMSG_OVERRUN`: nothing to act on.
    Noop,
}

/// One received netlink message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    /// `nlmsg_type`.
    pub message_type: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// What it carries.
    pub body: Body<'a>,
}

/// Splits a datagram into its netlink messages. Malformed input is an error, never a panic.
pub fn decode(buf: &[u8]) -> Result<Vec<Frame<'_>>, DecodeError> {
    frames(buf).collect()
}

/// The netlink messages of a datagram one by one, as [`decode`] gives them, without a list:
/// a listing reads two datagrams per service. After an error it gives nothing more.
pub fn frames(buf: &[u8]) -> Frames<'_> {
    Frames { rest: buf }
}

/// The iterator of [`frames`].
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let buf = self.rest;
        if buf.len() < NLMSG_HDRLEN {
            if buf.is_empty() {
                return None;
            }
            self.rest = &[];
            return Some(Err(DecodeError::from(format!(
                "{} trailing bytes after the last netlink message",
                buf.len()
            ))));
        }
        let word = |at: usize| u32::from_ne_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]);
        let len = word(0) as usize;
        if len < NLMSG_HDRLEN || len > buf.len() {
            self.rest = &[];
            return Some(Err(bad_header(buf)));
        }
        // The header's fields as `NetlinkBuffer` reads them (native byte order), read here
        // once its length is known good: its accessors were calls per field.
        let (type_flags, seq) = (word(4), word(8));
        let [t0, t1, f0, f1] = type_flags.to_ne_bytes();
        let (message_type, flags) = (u16::from_ne_bytes([t0, t1]), u16::from_ne_bytes([f0, f1]));
        let payload = &buf[NLMSG_HDRLEN..len];
        let body = match message_type {
            NLMSG_ERROR => match decode_error(payload, flags) {
                Ok(b) => b,
                Err(e) => {
                    self.rest = &[];
                    return Some(Err(e));
                }
            },
            NLMSG_DONE => Body::Done {
                errno: done_errno(payload),
            },
            NLMSG_NOOP | NLMSG_OVERRUN => Body::Noop,
            _ => Body::Data(payload),
        };
        let step = (len + 3) & !3;
        self.rest = buf.get(step..).unwrap_or(&[]);
        Some(Ok(Frame {
            message_type,
            flags,
            seq,
            body,
        }))
    }
}

/// `NLMSG_DONE`'s errno: positive, 0 when the payload has none.
pub(crate) fn done_errno(payload: &[u8]) -> i32 {
    payload
        .get(..4)
        .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]).unsigned_abs() as i32)
        .unwrap_or(0)
}

/// The error of a message whose length field is out of range: netlink-packet-core's header
/// check's words first, as before the fields were read here.
#[cold]
#[inline(never)]
fn bad_header(buf: &[u8]) -> DecodeError {
    if let Err(e) = NetlinkBuffer::new_checked(buf) {
        return DecodeError::from(format!("bad netlink header: {e}"));
    }
    let len = NetlinkBuffer::new(buf).length();
    DecodeError::from(format!(
        "netlink message length {len} outside 16..={}",
        buf.len()
    ))
}

/// `NLMSG_ERROR`. Not netlink-packet-core's `ErrorBuffer`/`ErrorMessage`: they give the code
/// and the echoed request, but not the extended-ACK attributes after it (`NLMSGERR_ATTR_MSG`,
/// the kernel's reason in words), which are found here from `NLM_F_CAPPED`/`NLM_F_ACK_TLVS`.
fn decode_error(payload: &[u8], flags: u16) -> Result<Body<'_>, DecodeError> {
    if payload.len() < 4 {
        return Err(DecodeError::from("NLMSG_ERROR shorter than its error code"));
    }
    let code = i32::from_ne_bytes([payload[0], payload[1], payload[2], payload[3]]);
    let errno = code.unsigned_abs() as i32;
    let mut ext_ack = None;
    if flags & NLM_F_ACK_TLVS != 0 {
        // After the code comes the echoed request: its header only when capped,
        // else the whole message, whose length its own header gives.
        let echoed = payload
            .get(4..4 + NLMSG_HDRLEN)
            .ok_or_else(|| DecodeError::from("NLMSG_ERROR without the echoed header"))?;
        let echoed_len = if flags & NLM_F_CAPPED != 0 {
            NLMSG_HDRLEN
        } else {
            u32::from_ne_bytes([echoed[0], echoed[1], echoed[2], echoed[3]]) as usize
        };
        let start = 4 + ((echoed_len + 3) & !3);
        let tlvs = payload.get(start..).unwrap_or(&[]);
        for nla in NlasIterator::new(tlvs) {
            let nla =
                nla.map_err(|e| DecodeError::from(format!("bad extended ACK attribute: {e}")))?;
            if nla.kind() & netlink_packet_core::NLA_TYPE_MASK == NLMSGERR_ATTR_MSG {
                let v = nla.value();
                let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
                ext_ack = Some(String::from_utf8_lossy(&v[..end]).into_owned());
            }
        }
    }
    Ok(Body::Error { errno, ext_ack })
}
