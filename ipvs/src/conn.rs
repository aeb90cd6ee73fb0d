//! Connections, read from `/proc/net/ip_vs_conn`: the kernel has no netlink
//! command for them, and ipvsadm `-c` reads the same file.

use std::io::BufRead;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::error::Operation;
use crate::Error;

/// A string in lowercase (the kernel writes protocol names in capitals).
fn ser_lowercase<S: serde::Serializer>(v: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&v.to_ascii_lowercase())
}

/// One connection from `/proc/net/ip_vs_conn`. Its serde form is the
/// connection object of `docs/json.md` (the protocol written in lowercase).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// Protocol, e.g. `TCP`.
    #[serde(serialize_with = "ser_lowercase")]
    pub protocol: String,
    /// Client address.
    #[serde(rename = "client_address", serialize_with = "crate::addr::ser_ntop")]
    pub client_addr: IpAddr,
    /// Client port.
    pub client_port: u16,
    /// Virtual address.
    #[serde(rename = "virtual_address", serialize_with = "crate::addr::ser_ntop")]
    pub virtual_addr: IpAddr,
    /// Virtual port.
    pub virtual_port: u16,
    /// Real-server address.
    #[serde(
        rename = "destination_address",
        serialize_with = "crate::addr::ser_ntop"
    )]
    pub dest_addr: IpAddr,
    /// Real-server port.
    #[serde(rename = "destination_port")]
    pub dest_port: u16,
    /// Protocol state, e.g. `ESTABLISHED`.
    pub state: String,
    /// Seconds until it expires.
    pub expires: u32,
    /// Persistence engine name, when one is set.
    #[serde(default, rename = "persistence_engine")]
    pub pe_name: Option<String>,
    /// Persistence engine data, when set.
    #[serde(default, rename = "persistence_data")]
    pub pe_data: Option<String>,
}

/// Parses the whole file. Lines that are not connections (the header) are skipped;
/// a connection line that does not parse is an error naming it.
pub fn parse_connections(text: &str) -> Result<Vec<Connection>, String> {
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(c) = parse_text_line(line)? {
            out.push(c);
        }
    }
    Ok(out)
}

/// One line of the file: `None` for the header and blank lines.
fn parse_text_line(line: &str) -> Result<Option<Connection>, String> {
    let mut f = [""; 11];
    let mut n = 0;
    for (slot, word) in f.iter_mut().zip(line.split_whitespace()) {
        *slot = word;
        n += 1;
    }
    if n == 0 || f[0] == "Pro" {
        return Ok(None);
    }
    parse_line(&f[..n])
        .map(Some)
        .ok_or_else(|| format!("unexpected line in ip_vs_conn: {line:?}"))
}

/// The connection table read as the kernel writes it, one connection at a time, so that a
/// table of any size is read in the memory of one line ([`crate::Ipvs::connections`]).
/// A line that does not parse ends the reading with [`Error::Decode`] naming it.
pub struct Connections<R> {
    reader: R,
    line: String,
    done: bool,
}

impl<R: BufRead> Connections<R> {
    /// The connections of a `/proc/net/ip_vs_conn` text read from `reader`.
    pub fn new(reader: R) -> Self {
        Connections {
            reader,
            line: String::new(),
            done: false,
        }
    }
}

impl<R: BufRead> Iterator for Connections<R> {
    type Item = Result<Connection, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let op = Operation::GetConnections;
        while !self.done {
            self.line.clear();
            match self.reader.read_line(&mut self.line) {
                Ok(0) => self.done = true,
                Ok(_) => match parse_text_line(&self.line) {
                    Ok(Some(c)) => return Some(Ok(c)),
                    Ok(None) => {}
                    Err(detail) => {
                        self.done = true;
                        return Some(Err(Error::Decode { op, detail }));
                    }
                },
                Err(source) => {
                    self.done = true;
                    return Some(Err(Error::Io { op, source }));
                }
            }
        }
        None
    }
}

fn parse_line(f: &[&str]) -> Option<Connection> {
    if f.len() < 9 {
        return None;
    }
    Some(Connection {
        protocol: f[0].to_string(),
        client_addr: addr(f[1])?,
        client_port: u16::from_str_radix(f[2], 16).ok()?,
        virtual_addr: addr(f[3])?,
        virtual_port: u16::from_str_radix(f[4], 16).ok()?,
        dest_addr: addr(f[5])?,
        dest_port: u16::from_str_radix(f[6], 16).ok()?,
        state: f[7].to_string(),
        expires: f[8].parse().ok()?,
        pe_name: f.get(9).map(|s| s.to_string()),
        pe_data: f.get(10).map(|s| s.to_string()),
    })
}

/// IPv4 addresses are printed as 8 hex digits (`%08X`), IPv6 ones with colons (`%pI6`).
fn addr(s: &str) -> Option<IpAddr> {
    if s.contains(':') {
        return s.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if s.len() != 8 {
        return None;
    }
    u32::from_str_radix(s, 16)
        .ok()
        .map(|v| IpAddr::V4(Ipv4Addr::from(v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v4_and_v6_lines() {
        let text = "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n\
TCP 0A000001 8E3A 0A000064 0050 0A000002 1F90 ESTABLISHED     899\n\
UDP 2001:0db8:0000:0000:0000:0000:0000:0001 0035 2001:0db8:0000:0000:0000:0000:0000:0002 0035 2001:0db8:0000:0000:0000:0000:0000:0003 0035 UDP         299 sip abc\n";
        let c = parse_connections(text).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].client_addr, "10.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(c[0].client_port, 0x8e3a);
        assert_eq!(c[0].dest_port, 8080);
        assert_eq!(c[0].state, "ESTABLISHED");
        assert_eq!(c[0].expires, 899);
        assert_eq!(c[0].pe_name, None);
        assert_eq!(c[1].virtual_addr, "2001:db8::2".parse::<IpAddr>().unwrap());
        assert_eq!(c[1].pe_name.as_deref(), Some("sip"));
        assert_eq!(c[1].pe_data.as_deref(), Some("abc"));
    }

    #[test]
    fn the_reader_gives_what_the_whole_parse_gives_and_stops_at_a_bad_line() {
        let text =
            "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n\
TCP 0A000001 8E3A 0A000064 0050 0A000002 1F90 ESTABLISHED     899\n\
\n\
UDP 0A000001 8E3B 0A000064 0035 0A000003 0035 UDP             299\n";
        let whole = parse_connections(text).unwrap();
        let read: Vec<Connection> = Connections::new(text.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(read, whole);
        assert_eq!(read.len(), 2);
        let bad = format!("{text}TCP zz 1 2 3\n{text}");
        let mut it = Connections::new(bad.as_bytes());
        assert!(it.next().unwrap().is_ok());
        assert!(it.next().unwrap().is_ok());
        match it.next() {
            Some(Err(Error::Decode { detail, .. })) => {
                assert!(detail.contains("TCP zz"), "{detail}")
            }
            other => panic!("not a decode error: {other:?}"),
        }
        assert!(it.next().is_none());
    }

    #[test]
    fn rejects_garbage_lines() {
        assert!(parse_connections("TCP zz 1 2 3").is_err());
        assert!(parse_connections("TCP 0A00001 0050 0A000064 0050 0A000002 0050 X 1").is_err());
    }
}
