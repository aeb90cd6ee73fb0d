//! The wire layer of ipvsctl: Linux IPVS over generic netlink.
//!
//! This crate knows bytes, not policy. It has every constant of the kernel's
//! `include/uapi/linux/ip_vs.h` ([`consts`]), a type per attribute set
//! ([`ServiceAttr`], [`DestAttr`], [`DaemonAttr`], [`StatsAttr`], [`InfoAttr`])
//! with an `Other` variant for what it does not know, the message
//! ([`IpvsMessage`]) and a writer of one straight into a send buffer
//! ([`PayloadWriter`]), netlink framing ([`frame`]), and a socket
//! ([`IpvsSocket`]) that resolves the family once, waits for ACKs, reads dumps
//! to the end and sends batches of many messages per `send`.
//!
//! Decoding what the kernel sends never panics: a short or malformed attribute
//! is an error, an unknown one is kept.
//!
//! ```no_run
//! use ipvs_sys::{Command, IpvsMessage, IpvsSocket};
//! let mut sock = IpvsSocket::open()?;
//! let services = sock.dump(&IpvsMessage::new(Command::GetService, vec![]))?;
//! println!("{} services", services.len());
//! # Ok::<(), ipvs_sys::Error>(())
//! ```
#![deny(missing_docs)]

mod attr;
pub mod consts;
mod ctrl;
mod daemon;
mod dest;
mod error;
pub mod frame;
#[cfg(test)]
mod fuzz_tests;
mod message;
pub mod netns;
mod reply;
mod service;
mod socket;
mod stats;

pub use ctrl::{parse_family_id, GetFamily};
pub use daemon::DaemonAttr;
pub use dest::DestAttr;
pub use error::{Error, KernelError};
pub use message::{Attr, Command, InfoAttr, IpvsMessage, Nest, PayloadWriter, GENL_HDRLEN};
pub use netlink_packet_core::{DecodeError, DefaultNla, Emitable, Nla};
pub use reply::{top_level_nest, Counters, DestReply, Nests, ServiceReply};
pub use service::{FlagsMask, ServiceAttr};
pub use socket::{BatchResult, IpvsSocket, DEFAULT_TIMEOUT, DUMP_ATTEMPTS};
pub use stats::{StatsAttr, StatsWidth};
