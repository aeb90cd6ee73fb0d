//! healthd's rules file: the JSON save document of `docs/json.md` with the health keys.
//!
//! The state (services and destinations) is read by the same reader as `apply`'s, which accepts
//! and ignores the health keys; this module reads those keys from the document as JSON values,
//! with the JSON path of every bad value: `check` (ipvs-health's spec, on a service for all its
//! destinations or on one destination), and per service `on_down`, `sorry_server`, `quorum`.

use std::net::{IpAddr, SocketAddr};

// The health keys are spelled in the state reader's list (which accepts and ignores them).
use ipvs::schema::health::{CHECK, ON_DOWN, QUORUM, SORRY_SERVER};
use ipvs::{Destination, ServiceKey, State};
use ipvs_health::{destination_check, read_check, Check};
use serde_json::{Map, Value};

use crate::apply::parse_state;

const SERVICES: &str = "services";
const DESTINATIONS: &str = "destinations";

/// What a service's real servers get when they go down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDown {
    /// Weight 0: the kernel keeps their connections and sends them no new ones.
    Weight0,
    /// Weight 0, then deleted once their connections are gone; added again when up.
    Remove,
}

impl OnDown {
    const WORDS: [(&'static str, OnDown); 2] =
        [("weight0", OnDown::Weight0), ("remove", OnDown::Remove)];
}

/// A real server as healthd sees it: the file's destination and its check (`None`: always up).
#[derive(Debug, Clone, PartialEq)]
pub struct Real {
    pub destination: Destination,
    pub check: Option<Check>,
}

/// A service with its health settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub key: ServiceKey,
    pub on_down: OnDown,
    pub quorum: u32,
    /// Given its weight only while fewer than `quorum` real servers are up.
    pub sorry: Option<Destination>,
    pub reals: Vec<Real>,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The state as the file gives it (sorry servers included, at their file weights).
    pub state: State,
    pub services: Vec<Service>,
}

/// `addr:port`, IPv6 in brackets: how healthd names a real server (and its maintenance file).
pub fn server_name(addr: IpAddr, port: u16) -> String {
    SocketAddr::new(addr, port).to_string()
}

/// Seconds since the Unix epoch, as `--watch --json` writes its `timestamp` (healthd's lines,
/// `/status`, its metrics).
pub fn epoch(at: std::time::SystemTime) -> f64 {
    at.duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| (d.as_millis() as f64) / 1000.0)
}

fn err(path: &str, field: &str, message: impl std::fmt::Display) -> String {
    format!("{path}.{field}: {message}")
}

/// Reads a rules file; errors name the JSON path of the bad value.
pub fn read(text: &str) -> Result<Config, String> {
    if !text.trim_start().starts_with('{') {
        return Err("healthd reads the JSON document (docs/json.md), not -S text".into());
    }
    // The state first: its errors are apply's, JSON syntax included.
    let mut state = parse_state(text)?;
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let docs = doc
        .get(SERVICES)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut services = Vec::with_capacity(state.services.len());
    for (i, (ss, sv)) in state.services.iter_mut().zip(docs).enumerate() {
        let path = format!("{SERVICES}[{i}]");
        let empty = Map::new();
        let m = sv.as_object().unwrap_or(&empty);
        let service_check = m.get(CHECK);
        // The service's check, even when every destination has its own.
        if let Some(c) = service_check {
            read_check(c, &format!("{path}.{CHECK}")).map_err(|e| e.to_string())?;
        }
        let on_down = match m.get(ON_DOWN) {
            None => OnDown::Weight0,
            Some(v) => OnDown::WORDS
                .iter()
                .find(|(w, _)| v.as_str() == Some(*w))
                .map(|(_, o)| *o)
                .ok_or_else(|| {
                    let words: Vec<String> = OnDown::WORDS
                        .iter()
                        .map(|(w, _)| format!("{w:?}"))
                        .collect();
                    err(
                        &path,
                        ON_DOWN,
                        format!("{v} is not one of {}", words.join(", ")),
                    )
                })?,
        };
        let quorum = match m.get(QUORUM) {
            None => 1,
            Some(v) => v
                .as_u64()
                .filter(|n| (1..=u64::from(u32::MAX)).contains(n))
                .map(|n| n as u32)
                .ok_or_else(|| {
                    err(
                        &path,
                        QUORUM,
                        format!("{v} is not a number of real servers (1 or more)"),
                    )
                })?,
        };
        let sorry = match m.get(SORRY_SERVER) {
            None | Some(Value::Null) => None,
            Some(v) => Some(sorry_server(m, v, &format!("{path}.{SORRY_SERVER}"))?),
        };
        let dest_docs = m
            .get(DESTINATIONS)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut reals = Vec::with_capacity(ss.destinations.len());
        for (j, (d, dv)) in ss.destinations.iter().zip(dest_docs).enumerate() {
            let dpath = format!("{path}.{DESTINATIONS}[{j}]");
            let check = destination_check(
                service_check,
                &format!("{path}.{CHECK}"),
                dv.get(CHECK),
                &format!("{dpath}.{CHECK}"),
            )
            .map_err(|e| e.to_string())?;
            reals.push(Real {
                destination: *d,
                check,
            });
        }
        if let Some(s) = &sorry {
            if ss
                .destinations
                .iter()
                .any(|d| (d.addr, d.port) == (s.addr, s.port))
            {
                return Err(err(
                    &path,
                    SORRY_SERVER,
                    format!(
                        "{} is also a destination of the service",
                        server_name(s.addr, s.port)
                    ),
                ));
            }
            ss.destinations.push(*s);
        }
        services.push(Service {
            key: ss.service.key,
            on_down,
            quorum,
            sorry,
            reals,
        });
    }
    Ok(Config { state, services })
}

/// The sorry server, a DESTINATION object, read by the state reader as the only destination of
/// a copy of its service; its errors name `services[N].sorry_server`.
fn sorry_server(
    service: &Map<String, Value>,
    v: &Value,
    path: &str,
) -> Result<Destination, String> {
    let mut copy = service.clone();
    for k in [CHECK, ON_DOWN, SORRY_SERVER, QUORUM] {
        copy.remove(k);
    }
    let mut dest = v.clone();
    if let Some(o) = dest.as_object_mut() {
        o.remove(CHECK);
    }
    copy.insert(DESTINATIONS.into(), Value::Array(vec![dest]));
    let doc = serde_json::json!({ SERVICES: [Value::Object(copy)] });
    let inner = format!("{SERVICES}[0].{DESTINATIONS}[0]");
    let state = parse_state(&doc.to_string()).map_err(|e| match e.strip_prefix(&inner) {
        Some(rest) => format!("{path}{rest}"),
        None => format!("{path}: {e}"),
    })?;
    state
        .services
        .first()
        .and_then(|s| s.destinations.first())
        .copied()
        .ok_or_else(|| format!("{path}: not a destination"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"services": [{
        "protocol": "tcp", "address": "10.0.0.100", "port": 80, "scheduler": "rr",
        "check": {"type": "http", "interval": 0.5, "rise": 2, "fall": 2},
        "on_down": "remove", "quorum": 2,
        "sorry_server": {"address": "192.168.10.99", "port": 80, "forward": "masq"},
        "destinations": [
            {"address": "192.168.10.11", "port": 80, "forward": "masq", "weight": 3},
            {"address": "192.168.10.12", "port": 80, "forward": "masq", "check": null},
            {"address": "192.168.10.13", "port": 80, "forward": "masq", "check": {"type": "tcp"}}
        ]}]}"#;

    #[test]
    fn reads_the_health_keys() {
        let c = read(GOOD).unwrap();
        let s = &c.services[0];
        assert_eq!((s.on_down, s.quorum), (OnDown::Remove, 2));
        assert_eq!(s.sorry.unwrap().addr.to_string(), "192.168.10.99");
        assert_eq!(s.reals.len(), 3);
        assert_eq!(s.reals[0].destination.weight, 3);
        assert_eq!(s.reals[0].check.as_ref().unwrap().type_word(), "http");
        assert_eq!(s.reals[1].check, None);
        assert_eq!(s.reals[2].check.as_ref().unwrap().type_word(), "tcp");
        // The state has the sorry server after the real servers.
        assert_eq!(c.state.services[0].destinations.len(), 4);
        // apply reads the same file and ignores the keys.
        assert_eq!(parse_state(GOOD).unwrap().services[0].destinations.len(), 3);
    }

    #[test]
    fn bad_values_name_their_json_path() {
        let bad = |from: &str, to: &str| read(&GOOD.replacen(from, to, 1)).unwrap_err();
        let e = bad(r#""interval": 0.5"#, r#""interval": -1"#);
        assert!(e.starts_with("services[0].check.interval: "), "{e}");
        let e = bad(r#""type": "tcp""#, r#""type": "icmp""#);
        assert!(
            e.starts_with("services[0].destinations[2].check.type: "),
            "{e}"
        );
        let e = bad(r#""rise": 2"#, r#""rise": "2""#);
        assert!(e.starts_with("services[0].check.rise: "), "{e}");
        let e = bad(r#""on_down": "remove""#, r#""on_down": "delete""#);
        assert_eq!(
            e,
            r#"services[0].on_down: "delete" is not one of "weight0", "remove""#
        );
        let e = bad(r#""quorum": 2"#, r#""quorum": 0"#);
        assert!(e.starts_with("services[0].quorum: 0 is not"), "{e}");
        let e = bad(r#""forward": "masq"}"#, r#""forward": "nat"}"#);
        assert!(e.starts_with("services[0].sorry_server.forward: "), "{e}");
        let e = bad("192.168.10.99", "192.168.10.11");
        assert!(e.contains("also a destination"), "{e}");
        let e = bad(r#""check": null"#, r#""check": 5"#);
        assert!(e.starts_with("services[0].destinations[1].check: "), "{e}");
        let e = read("-A -t 10.0.0.1:80\n").unwrap_err();
        assert!(e.contains("JSON"), "{e}");
    }

    #[test]
    fn the_readmes_example_healthd_file_is_valid() {
        let c = read(include_str!("../../tests/fixtures/healthd-rules.json")).unwrap();
        assert_eq!(c.services.len(), 2);
        assert_eq!(c.services[0].quorum, 1);
        assert!(c.services[0].sorry.is_some());
        assert_eq!(c.services[1].on_down, OnDown::Remove);
        let own = c.services[1].reals[1].check.as_ref().unwrap();
        assert_eq!((own.type_word(), own.port), ("tcp", Some(53)));
        // apply takes the same file: its state without the sorry server.
        assert_eq!(
            parse_state(include_str!("../../tests/fixtures/healthd-rules.json"))
                .unwrap()
                .services[0]
                .destinations
                .len(),
            2
        );
    }
}
