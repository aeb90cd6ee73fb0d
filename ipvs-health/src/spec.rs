//! Check specs: what to check on a real server, how often, and how many
//! results in a row change its state.
//!
//! A spec is read from JSON (a [`serde_json::Value`]) by [`read_check`], which
//! names the JSON path of any bad value, so that a document holding checks
//! (`services[N].check`, `services[N].destinations[M].check`) reports errors
//! where they are. This module is the one home of the check's field names.
//!
//! | field | types | meaning (default) |
//! |---|---|---|
//! | `type` | all | `tcp`, `http`, `https`, `udp`, `dns`, `exec`, or `none` (always up, no other field) |
//! | `address`, `port` | all | the address and port the check connects or sends to, keepalived's `connect_ip` and `connect_port` (the real server's address and port) |
//! | `mark`, `source` | all but exec | the firewall mark of the check's packets, and the address it is sent from (none; the kernel's choice) |
//! | `interval` | all | seconds from one check's start to the next, fractions allowed (5) |
//! | `timeout` | all | seconds a check may take, at most `interval` (2, or `interval` when shorter) |
//! | `rise`, `fall` | all | results in a row that bring a server up (2) or take it down (3), 1 to 1000 |
//! | `path`, `host`, `method` | http, https | the request (`/`, the address and port checked, `GET`) |
//! | `expect_status` | http, https | passing statuses: `"200-399"`, `"200,204"`, or a number (`"200-399"`) |
//! | `expect_body` | http, https | a substring, or `{"regex": "..."}`, found in the body's first 64 KiB (none) |
//! | `sni`, `verify` | https | the TLS server name (`host`'s name; none for an address); check the certificate against the system's roots (false) |
//! | `send`, `expect` | udp | the datagram sent (required); bytes the reply must contain (any reply) |
//! | `name`, `qtype`, `expect_rcode` | dns | the query (name required, `A`); the passing response code (`NOERROR`, which also needs an answer) |
//! | `command` | exec | the program and its arguments (required); exit 0 passes |

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};
use hyper::http::uri::PathAndQuery;
use hyper::Method;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// The interval between two checks when the spec gives none.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// The time a check may take when the spec gives none (or the interval, when shorter).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// Passing checks in a row that bring a server up, when the spec gives no `rise`.
pub const DEFAULT_RISE: u32 = 2;
/// Failing checks in a row that take a server down, when the spec gives no `fall`.
pub const DEFAULT_FALL: u32 = 3;
/// The HTTP statuses that pass when the spec gives no `expect_status`.
pub const DEFAULT_EXPECT_STATUS: &str = "200-399";
/// The longest interval or timeout, in seconds (a day).
pub const MAX_SECONDS: f64 = 86_400.0;
/// The shortest interval or timeout, in seconds.
pub const MIN_SECONDS: f64 = 0.001;

// The field names, each spelled once.
const TYPE: &str = "type";
const ADDRESS: &str = "address";
const PORT: &str = "port";
const MARK: &str = "mark";
const SOURCE: &str = "source";
const INTERVAL: &str = "interval";
const TIMEOUT: &str = "timeout";
const RISE: &str = "rise";
const FALL: &str = "fall";
const PATH: &str = "path";
const HOST: &str = "host";
const METHOD: &str = "method";
const EXPECT_STATUS: &str = "expect_status";
const EXPECT_BODY: &str = "expect_body";
const REGEX: &str = "regex";
const SNI: &str = "sni";
const VERIFY: &str = "verify";
const SEND: &str = "send";
const EXPECT: &str = "expect";
const NAME: &str = "name";
const QTYPE: &str = "qtype";
const EXPECT_RCODE: &str = "expect_rcode";
const COMMAND: &str = "command";

const COMMON: &[&str] = &[TYPE, ADDRESS, PORT, INTERVAL, TIMEOUT, RISE, FALL];
const HTTP_FIELDS: &[&str] = &[PATH, HOST, METHOD, EXPECT_STATUS, EXPECT_BODY];
const TLS_FIELDS: &[&str] = &[SNI, VERIFY];
const UDP_FIELDS: &[&str] = &[SEND, EXPECT];
const DNS_FIELDS: &[&str] = &[NAME, QTYPE, EXPECT_RCODE];
const EXEC_FIELDS: &[&str] = &[COMMAND];
/// The fields of the checks that send packets themselves (all but exec).
const NET_FIELDS: &[&str] = &[MARK, SOURCE];

/// The words of `type`, `none` last.
pub const TYPES: &[&str] = &["tcp", "http", "https", "udp", "dns", "exec", "none"];

/// A bad value in a check spec: where it is (`services[0].check.interval`)
/// and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SpecError {
    /// The JSON path of the bad value.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

/// One health check of a real server.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// What to send and what to expect.
    pub probe: Probe,
    /// Where to send the check instead of the real server's address. A VIP
    /// that this host holds is its own: to reach a DR or TUN server's VIP
    /// listener, the check also needs `mark` and `source`.
    pub address: Option<IpAddr>,
    /// Where to send the check instead of the real server's port.
    pub port: Option<u16>,
    /// The firewall mark (`SO_MARK`) of the check's packets, keepalived's
    /// `fwmark`: with an IPVS fwmark service of that mark whose one
    /// destination is the real server, a check to the VIP (held by this
    /// host) is forwarded by IPVS to that server alone, DR or TUN.
    pub mark: Option<u32>,
    /// The address the check is sent from, keepalived's `bindto` (default:
    /// the kernel's choice, which is the VIP itself for a check to a VIP this
    /// host holds, and the real server would answer itself).
    pub source: Option<IpAddr>,
    /// Time from the start of one check to the start of the next.
    pub interval: Duration,
    /// The longest a check may take; a slower one fails. Never above `interval`.
    pub timeout: Duration,
    /// Passing checks in a row that bring the server up (1 or more).
    pub rise: u32,
    /// Failing checks in a row that take the server down (1 or more).
    pub fall: u32,
}

impl Check {
    /// A check with the default timing (`interval`, `timeout`, `rise`,
    /// `fall`) sent to the real server itself.
    pub fn new(probe: Probe) -> Self {
        Check {
            probe,
            address: None,
            port: None,
            mark: None,
            source: None,
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            rise: DEFAULT_RISE,
            fall: DEFAULT_FALL,
        }
    }

    /// Where the check goes for a real server at `server`: its address and
    /// port unless the spec sets others.
    pub fn endpoint(&self, server: SocketAddr) -> SocketAddr {
        SocketAddr::new(
            self.address.unwrap_or(server.ip()),
            self.port.unwrap_or(server.port()),
        )
    }

    /// The `type` word of this check.
    pub fn type_word(&self) -> &'static str {
        match self.probe {
            Probe::Tcp => TYPES[0],
            Probe::Http(_) => TYPES[1],
            Probe::Https(_) => TYPES[2],
            Probe::Udp(_) => TYPES[3],
            Probe::Dns(_) => TYPES[4],
            Probe::Exec(_) => TYPES[5],
        }
    }
}

/// What a check sends and expects.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    /// A TCP connection is accepted.
    Tcp,
    /// An HTTP/1.1 request gets an expected answer.
    Http(Http),
    /// An HTTP/1.1 request over TLS gets an expected answer.
    Https(Https),
    /// A UDP datagram gets a reply.
    Udp(Udp),
    /// A DNS query gets an expected answer.
    Dns(Dns),
    /// A command exits 0.
    Exec(Exec),
}

/// An HTTP check.
#[derive(Debug, Clone, PartialEq)]
pub struct Http {
    /// The request's path and query (default `/`).
    pub path: PathAndQuery,
    /// The `Host` header (default: the address and port checked).
    pub host: Option<String>,
    /// The request method (default `GET`).
    pub method: Method,
    /// The statuses that pass (default `200-399`).
    pub expect_status: StatusRanges,
    /// What the body must hold, if anything.
    pub expect_body: Option<BodyMatch>,
}

impl Default for Http {
    fn default() -> Self {
        Http {
            path: PathAndQuery::from_static("/"),
            host: None,
            method: Method::GET,
            expect_status: DEFAULT_EXPECT_STATUS
                .parse()
                .expect("the default status range parses"),
            expect_body: None,
        }
    }
}

/// An HTTPS check: HTTP over TLS.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Https {
    /// The HTTP request and what it expects.
    pub http: Http,
    /// The TLS server name sent (default: `host` without its port, when it is
    /// a name; none when checking by address).
    pub sni: Option<String>,
    /// Whether the server's certificate must be valid for the name under the
    /// system's trusted roots (default off, like keepalived's SSL_GET).
    pub verify: bool,
}

/// A UDP check: `send` goes out, a reply must come back (holding `expect`)
/// from the address and port checked. An ICMP port unreachable fails it at
/// once (`udp: connection refused`); silence fails it at the timeout.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Udp {
    /// The datagram sent.
    pub send: Vec<u8>,
    /// Bytes the reply must contain; any reply passes without.
    pub expect: Option<Vec<u8>>,
}

/// A DNS check over UDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dns {
    /// The name asked for.
    pub name: Name,
    /// The record type asked for (default `A`).
    pub qtype: RecordType,
    /// The response code that passes (default `NOERROR`, which also needs
    /// at least one answer).
    pub expect_rcode: ResponseCode,
}

/// A command run for each check: exit status 0 passes.
///
/// It runs with `IPVS_SERVICE`, `IPVS_REAL_SERVER` (`ADDR:PORT`),
/// `IPVS_REAL_ADDRESS`, `IPVS_REAL_PORT`, `IPVS_CHECK_ADDRESS` and
/// `IPVS_CHECK_PORT` in its environment, stdin, stdout and stderr on
/// `/dev/null`, in a process group of its own that is killed at the timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exec {
    /// The program and its arguments (the program is looked up in `PATH`).
    pub command: Vec<String>,
}

/// What an HTTP body must hold.
#[derive(Debug, Clone)]
pub enum BodyMatch {
    /// The body contains these bytes (`"expect_body": "text"`).
    Substring(String),
    /// The body matches this regex (`"expect_body": {"regex": "..."}`).
    Regex(regex::bytes::Regex),
}

impl PartialEq for BodyMatch {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (BodyMatch::Substring(a), BodyMatch::Substring(b)) => a == b,
            (BodyMatch::Regex(a), BodyMatch::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

impl BodyMatch {
    /// Whether `body` holds what is expected.
    pub fn matches(&self, body: &[u8]) -> bool {
        match self {
            BodyMatch::Substring(s) => {
                let needle = s.as_bytes();
                needle.is_empty() || body.windows(needle.len()).any(|w| w == needle)
            }
            BodyMatch::Regex(r) => r.is_match(body),
        }
    }
}

impl fmt::Display for BodyMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyMatch::Substring(s) => write!(f, "contain {s:?}"),
            BodyMatch::Regex(r) => write!(f, "match /{}/", r.as_str()),
        }
    }
}

/// HTTP statuses as ranges: `"200-399"`, `"200"`, `"200,204,300-399"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRanges(Vec<RangeInclusive<u16>>);

impl StatusRanges {
    /// Whether `status` is in one of the ranges.
    pub fn contains(&self, status: u16) -> bool {
        self.0.iter().any(|r| r.contains(&status))
    }
}

impl std::str::FromStr for StatusRanges {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let status = |w: &str| -> Result<u16, String> {
            match w.trim().parse::<u16>() {
                Ok(n) if (100..=599).contains(&n) => Ok(n),
                _ => Err(format!(
                    "{s:?} is not a status range (like \"200-399\"): {:?} is not a status from 100 to 599",
                    w.trim()
                )),
            }
        };
        let mut ranges = Vec::new();
        for part in s.split(',') {
            let range = match part.split_once('-') {
                Some((lo, hi)) => {
                    let (lo, hi) = (status(lo)?, status(hi)?);
                    if lo > hi {
                        return Err(format!("{s:?}: the range {lo}-{hi} is empty"));
                    }
                    lo..=hi
                }
                None => {
                    let n = status(part)?;
                    n..=n
                }
            };
            ranges.push(range);
        }
        Ok(StatusRanges(ranges))
    }
}

impl fmt::Display for StatusRanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if r.start() == r.end() {
                write!(f, "{}", r.start())?;
            } else {
                write!(f, "{}-{}", r.start(), r.end())?;
            }
        }
        Ok(())
    }
}

/// A DNS response code's mnemonic (`NOERROR`, `NXDOMAIN`, `SERVFAIL`, ...,
/// or the number for codes without one).
pub fn rcode_word(code: ResponseCode) -> String {
    match code {
        ResponseCode::Unknown(n) => n.to_string(),
        // hickory's variant names are the mnemonics in mixed case (NXDomain).
        c => format!("{c:?}").to_ascii_uppercase(),
    }
}

fn parse_rcode(w: &str) -> Option<ResponseCode> {
    if let Ok(n) = w.parse::<u16>() {
        return (n < 4096).then(|| <ResponseCode as From<u16>>::from(n));
    }
    (0..=23u16)
        .map(<ResponseCode as From<u16>>::from)
        .find(|c| !matches!(c, ResponseCode::Unknown(_)) && rcode_word(*c).eq_ignore_ascii_case(w))
}

/// The check of a `"check"` member: `None` for `null` or `{"type": "none"}`
/// (always up), in serde's form for documents read with derive. Errors name
/// the path inside the check (`interval: ...`); [`read_check`] names the
/// whole path.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckField(pub Option<Check>);

impl<'de> Deserialize<'de> for CheckField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        read_check(&v, "")
            .map(CheckField)
            .map_err(serde::de::Error::custom)
    }
}

/// Reads the check at `path` (its JSON path, for errors: `services[0].check`).
/// `null` and `{"type": "none"}` give `None`: the server is always up.
pub fn read_check(value: &Value, path: &str) -> Result<Option<Check>, SpecError> {
    let map = match value {
        Value::Null => return Ok(None),
        Value::Object(m) => m,
        other => {
            return Err(SpecError {
                path: path.to_string(),
                message: format!("{} is not a check (an object or null)", show(other)),
            })
        }
    };
    let f = Fields { path, map };
    let kind = match f.get(TYPE) {
        None => return Err(f.err(TYPE, format!("missing (one of {})", TYPES.join(", ")))),
        Some(Value::String(s)) if TYPES.contains(&s.as_str()) => s.as_str(),
        Some(v) => {
            return Err(f.err(
                TYPE,
                format!(
                    "{} is not a check type (one of {})",
                    show(v),
                    TYPES.join(", ")
                ),
            ))
        }
    };
    let extra: &[&[&str]] = match kind {
        "none" => &[],
        "tcp" => &[COMMON, NET_FIELDS],
        "http" => &[COMMON, NET_FIELDS, HTTP_FIELDS],
        "https" => &[COMMON, NET_FIELDS, HTTP_FIELDS, TLS_FIELDS],
        "udp" => &[COMMON, NET_FIELDS, UDP_FIELDS],
        "dns" => &[COMMON, NET_FIELDS, DNS_FIELDS],
        _ => &[COMMON, EXEC_FIELDS],
    };
    for key in map.keys() {
        if key != TYPE && !extra.iter().any(|fs| fs.contains(&key.as_str())) {
            return Err(f.err(key, format!("not a field of {kind:?} checks")));
        }
    }
    let probe = match kind {
        "none" => return Ok(None),
        "tcp" => Probe::Tcp,
        "http" => Probe::Http(f.http()?),
        "https" => Probe::Https(Https {
            http: f.http()?,
            sni: f.opt(SNI, |v| match v.as_str() {
                Some(s) if rustls::pki_types::ServerName::try_from(s).is_ok() => Ok(s.to_string()),
                _ => Err(format!("{} is not a TLS server name", show(v))),
            })?,
            verify: f
                .opt(VERIFY, |v| {
                    v.as_bool()
                        .ok_or_else(|| format!("{} is not true or false", show(v)))
                })?
                .unwrap_or(false),
        }),
        "udp" => Probe::Udp(Udp {
            send: f
                .opt(SEND, bytes)?
                .ok_or_else(|| f.err(SEND, "missing (the datagram to send)"))?,
            expect: f.opt(EXPECT, bytes)?,
        }),
        "dns" => Probe::Dns(Dns {
            name: f
                .opt(NAME, |v| {
                    v.as_str()
                        .and_then(|s| Name::from_utf8(s).ok())
                        .ok_or_else(|| format!("{} is not a DNS name", show(v)))
                })?
                .ok_or_else(|| f.err(NAME, "missing (the name to ask for)"))?,
            qtype: f
                .opt(QTYPE, |v| {
                    v.as_str()
                        .and_then(|s| s.to_ascii_uppercase().parse::<RecordType>().ok())
                        .filter(|t| !matches!(t, RecordType::Unknown(_)))
                        .ok_or_else(|| {
                            format!("{} is not a DNS record type (A, AAAA, ...)", show(v))
                        })
                })?
                .unwrap_or(RecordType::A),
            expect_rcode: f
                .opt(EXPECT_RCODE, |v| {
                    v.as_str().and_then(parse_rcode).ok_or_else(|| {
                        format!(
                            "{} is not a DNS response code (NOERROR, NXDOMAIN, ...)",
                            show(v)
                        )
                    })
                })?
                .unwrap_or(ResponseCode::NoError),
        }),
        _ => Probe::Exec(Exec {
            command: f
                .opt(COMMAND, |v| {
                    let argv: Option<Vec<String>> = v
                        .as_array()
                        .and_then(|a| a.iter().map(|s| s.as_str().map(String::from)).collect());
                    match argv {
                        Some(a) if !a.is_empty() && !a[0].is_empty() => Ok(a),
                        _ => Err(format!(
                            "{} is not a command (an array of strings, the program first)",
                            show(v)
                        )),
                    }
                })?
                .ok_or_else(|| f.err(COMMAND, "missing (the program and its arguments)"))?,
        }),
    };
    let interval = f.opt(INTERVAL, seconds)?.unwrap_or(DEFAULT_INTERVAL);
    let timeout = match f.opt(TIMEOUT, seconds)? {
        Some(t) if t > interval => {
            return Err(f.err(
                TIMEOUT,
                format!(
                    "{} s is longer than the interval ({} s)",
                    secs(t),
                    secs(interval)
                ),
            ))
        }
        Some(t) => t,
        None => DEFAULT_TIMEOUT.min(interval),
    };
    Ok(Some(Check {
        probe,
        address: f.opt(ADDRESS, ip_address)?,
        port: f.opt(PORT, |v| match v.as_u64() {
            Some(p @ 1..=65535) => Ok(p as u16),
            _ => Err(format!("{} is not a port (1 to 65535)", show(v))),
        })?,
        mark: f.opt(MARK, |v| match v.as_u64() {
            Some(m @ 1..=0xffff_ffff) => Ok(m as u32),
            _ => Err(format!("{} is not a mark (1 to 4294967295)", show(v))),
        })?,
        source: f.opt(SOURCE, ip_address)?,
        interval,
        timeout,
        rise: f.opt(RISE, count)?.unwrap_or(DEFAULT_RISE),
        fall: f.opt(FALL, count)?.unwrap_or(DEFAULT_FALL),
    }))
}

/// The check of one destination: its own `"check"` member when it has one
/// (even `null`), else its service's. `service` and `destination` are those
/// members (`None` when absent), the paths theirs (`services[0].check`,
/// `services[0].destinations[1].check`). A destination's check replaces the
/// service's whole; it is not merged field by field.
pub fn destination_check(
    service: Option<&Value>,
    service_path: &str,
    destination: Option<&Value>,
    destination_path: &str,
) -> Result<Option<Check>, SpecError> {
    match (destination, service) {
        (Some(d), _) => read_check(d, destination_path),
        (None, Some(s)) => read_check(s, service_path),
        (None, None) => Ok(None),
    }
}

/// Seconds as the reasons and errors print them: `1.0`, `0.25`, `2.5`.
pub fn secs(d: Duration) -> String {
    let s = format!("{:.3}", d.as_secs_f64());
    let s = s.trim_end_matches('0');
    if s.ends_with('.') {
        format!("{s}0")
    } else {
        s.to_string()
    }
}

struct Fields<'a> {
    path: &'a str,
    map: &'a Map<String, Value>,
}

impl Fields<'_> {
    fn err(&self, field: &str, message: impl Into<String>) -> SpecError {
        SpecError {
            path: if self.path.is_empty() {
                field.to_string()
            } else {
                format!("{}.{field}", self.path)
            },
            message: message.into(),
        }
    }

    /// A member; `null` is the same as absent (the default).
    fn get(&self, field: &str) -> Option<&Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    fn opt<T>(
        &self,
        field: &str,
        read: impl FnOnce(&Value) -> Result<T, String>,
    ) -> Result<Option<T>, SpecError> {
        self.get(field)
            .map(|v| read(v).map_err(|m| self.err(field, m)))
            .transpose()
    }

    fn http(&self) -> Result<Http, SpecError> {
        let d = Http::default();
        Ok(Http {
            path: self
                .opt(PATH, |v| {
                    v.as_str()
                        .filter(|s| s.starts_with('/'))
                        .and_then(|s| s.parse::<PathAndQuery>().ok())
                        .ok_or_else(|| format!("{} is not a path starting with /", show(v)))
                })?
                .unwrap_or(d.path),
            host: self.opt(HOST, |v| match v.as_str() {
                Some(s) if !s.is_empty() && s.parse::<hyper::http::uri::Authority>().is_ok() => {
                    Ok(s.to_string())
                }
                _ => Err(format!(
                    "{} is not a host name (with an optional :port)",
                    show(v)
                )),
            })?,
            method: self
                .opt(METHOD, |v| {
                    v.as_str()
                        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_uppercase()))
                        .and_then(|s| Method::from_bytes(s.as_bytes()).ok())
                        .ok_or_else(|| {
                            format!("{} is not an HTTP method (GET, HEAD, ...)", show(v))
                        })
                })?
                .unwrap_or(d.method),
            expect_status: self
                .opt(EXPECT_STATUS, |v| match v {
                    Value::String(s) => s.parse(),
                    Value::Number(_) => v.to_string().parse(),
                    _ => Err(format!(
                        "{} is not a status range (like \"200-399\")",
                        show(v)
                    )),
                })?
                .unwrap_or(d.expect_status),
            expect_body: self.opt(EXPECT_BODY, |v| match v {
                Value::String(s) => Ok(BodyMatch::Substring(s.clone())),
                Value::Object(m) if m.len() == 1 && m.contains_key(REGEX) => match &m[REGEX] {
                    Value::String(r) => regex::bytes::Regex::new(r)
                        .map(BodyMatch::Regex)
                        .map_err(|e| format!("bad regex {r:?}: {}", one_line(&e))),
                    other => Err(format!("{} is not a regex (a string)", show(other))),
                },
                _ => Err(format!(
                    "{} is not a substring or {{\"{REGEX}\": \"...\"}}",
                    show(v)
                )),
            })?,
        })
    }
}

/// A value as the errors quote it: compact JSON, cut when long.
fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        let cut: String = s.chars().take(37).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// A regex error on one line: its last (regex's syntax errors draw the
/// pattern with a caret above it).
fn one_line(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    last.trim().trim_start_matches("error: ").to_string()
}

fn seconds(v: &Value) -> Result<Duration, String> {
    let Some(x) = v.as_f64() else {
        return Err(format!("{} is not a number of seconds", show(v)));
    };
    if x <= 0.0 {
        Err(format!("{} is not a positive number of seconds", show(v)))
    } else if x < MIN_SECONDS {
        Err(format!("{} is below {MIN_SECONDS} seconds", show(v)))
    } else if x > MAX_SECONDS {
        Err(format!("{} is above {MAX_SECONDS} seconds", show(v)))
    } else {
        Ok(Duration::from_secs_f64(x))
    }
}

fn ip_address(v: &Value) -> Result<IpAddr, String> {
    v.as_str()
        .and_then(|s| s.parse::<IpAddr>().ok())
        .ok_or_else(|| format!("{} is not an IP address", show(v)))
}

fn count(v: &Value) -> Result<u32, String> {
    match v.as_u64() {
        Some(n @ 1..=1000) => Ok(n as u32),
        _ => Err(format!("{} is not a count from 1 to 1000", show(v))),
    }
}

fn bytes(v: &Value) -> Result<Vec<u8>, String> {
    v.as_str()
        .map(|s| s.as_bytes().to_vec())
        .ok_or_else(|| format!("{} is not a string", show(v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_ranges_parse_and_print() {
        let r: StatusRanges = "200-399".parse().unwrap();
        assert!(r.contains(200) && r.contains(399) && !r.contains(400) && !r.contains(199));
        let r: StatusRanges = "204, 300-302".parse().unwrap();
        assert_eq!(r.to_string(), "204,300-302");
        assert!(r.contains(204) && !r.contains(200) && r.contains(301));
        for bad in ["", "abc", "399-200", "99", "600", "200-", "2xx"] {
            assert!(bad.parse::<StatusRanges>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn rcode_words_round_trip() {
        for (w, c) in [
            ("NOERROR", ResponseCode::NoError),
            ("nxdomain", ResponseCode::NXDomain),
            ("SERVFAIL", ResponseCode::ServFail),
            ("REFUSED", ResponseCode::Refused),
            ("3", ResponseCode::NXDomain),
        ] {
            assert_eq!(parse_rcode(w), Some(c), "{w}");
        }
        assert_eq!(rcode_word(ResponseCode::NXDomain), "NXDOMAIN");
        assert_eq!(parse_rcode("NOPE"), None);
    }

    #[test]
    fn seconds_print_short() {
        assert_eq!(secs(Duration::from_secs(1)), "1.0");
        assert_eq!(secs(Duration::from_millis(250)), "0.25");
        assert_eq!(secs(Duration::from_millis(2500)), "2.5");
    }

    #[test]
    fn body_match() {
        let s = BodyMatch::Substring("ok".into());
        assert!(s.matches(b"all ok here") && !s.matches(b"fail"));
        let r = BodyMatch::Regex(regex::bytes::Regex::new("^up [0-9]+$").unwrap());
        assert!(r.matches(b"up 42") && !r.matches(b"down 42"));
    }
}
