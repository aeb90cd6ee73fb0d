//! `top --healthd URL`: healthd's `/status` read every interval on a thread of its own (the
//! screen never waits for it), each real server's state put on its line.
//!
//! A plain HTTP/1.0 GET over a std TcpStream: top is synchronous, the page is JSON on a
//! trusted local port, and the answer is bounded in time and size.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::model::{Health, Snapshot};

/// The longest `/status` read (10,000 real servers take about 4 MB).
const MAX_BODY: u64 = 64 << 20;
/// Connect, and each read or write, at most this long.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Where healthd's status is: `host:port` and the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub authority: String,
    pub path: String,
}

/// `http://HOST:PORT[/PATH]` or `HOST:PORT`; no path (or `/`) is `/status`.
pub fn parse_url(text: &str) -> Result<Url, String> {
    let rest = match text.split_once("://") {
        Some(("http", rest)) => rest,
        Some((scheme, _)) => {
            return Err(format!(
                "{scheme}: only http:// (healthd --listen serves plain HTTP)"
            ))
        }
        None => text,
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let port_ok = authority
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !port_ok {
        return Err("expected http://HOST:PORT (healthd's --listen address)".into());
    }
    let path = if path.is_empty() || path == "/" {
        "/status".to_string()
    } else {
        path.to_string()
    };
    Ok(Url {
        authority: authority.to_string(),
        path,
    })
}

/// healthd's view: each (service, real server)'s state.
pub type Status = HashMap<(String, SocketAddr), Health>;

/// One GET of the status page.
pub fn fetch(url: &Url) -> Result<Status, String> {
    let at = url
        .authority
        .to_socket_addrs()
        .map_err(|e| format!("{}: {e}", url.authority))?
        .next()
        .ok_or_else(|| format!("{}: no address", url.authority))?;
    let mut s = TcpStream::connect_timeout(&at, TIMEOUT).map_err(|e| format!("{at}: {e}"))?;
    let _ = s.set_read_timeout(Some(TIMEOUT));
    let _ = s.set_write_timeout(Some(TIMEOUT));
    write!(
        s,
        "GET {} HTTP/1.0\r\nHost: {}\r\nAccept: application/json\r\n\r\n",
        url.path, url.authority
    )
    .map_err(|e| format!("{at}: {e}"))?;
    let mut raw = Vec::new();
    s.take(MAX_BODY)
        .read_to_end(&mut raw)
        .map_err(|e| format!("{at}: {e}"))?;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("{at}: not an HTTP answer"))?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let status_line = head.lines().next().unwrap_or("");
    if status_line.split_whitespace().nth(1) != Some("200") {
        return Err(format!("{at}: {status_line}"));
    }
    let doc: Value = serde_json::from_slice(&raw[end + 4..])
        .map_err(|e| format!("{at}{}: not healthd's status: {e}", url.path))?;
    Ok(parse_status(&doc))
}

/// The states of healthd's `/status` document; what it does not have is left out.
pub fn parse_status(doc: &Value) -> Status {
    let mut out = Status::new();
    let services = doc["services"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    for s in services {
        let Some(service) = s["service"].as_str() else {
            continue;
        };
        let reals = s["real_servers"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for r in reals {
            let Some(addr) = r["destination"]
                .as_str()
                .and_then(|d| d.parse::<SocketAddr>().ok())
            else {
                continue;
            };
            let health = match (r["maintenance"].as_bool(), r["state"].as_str()) {
                (Some(true), _) => Health::Maintenance,
                (_, Some("up")) => Health::Up,
                (_, Some("down")) => Health::Down,
                (_, Some("unknown")) => Health::Unknown,
                _ => continue,
            };
            out.insert((service.to_string(), addr), health);
        }
    }
    out
}

/// Puts healthd's states on the snapshot's lines: each real server's, and for each service
/// how many of those healthd knows are up.
pub fn annotate(snapshot: &mut Snapshot, status: &Status) {
    for s in &mut snapshot.services {
        let service = s.key.to_string();
        let (mut up, mut of) = (0, 0);
        for d in &mut s.destinations {
            let ipvs::sampler::SeriesKey::Destination(_, addr, port) = d.key else {
                continue;
            };
            d.health = status
                .get(&(service.clone(), SocketAddr::new(addr, port)))
                .copied();
            if let Some(h) = d.health {
                of += 1;
                up += u32::from(h == Health::Up);
            }
        }
        s.row.health = (of > 0).then_some(Health::Servers { up, of });
    }
}

/// The latest fetch, made every interval on a thread of its own.
pub struct Watcher {
    latest: Arc<Mutex<Option<Result<Status, String>>>>,
}

impl Watcher {
    /// Starts fetching `url` every `interval`.
    pub fn start(url: Url, interval: Duration) -> std::io::Result<Watcher> {
        let latest = Arc::new(Mutex::new(None));
        let cell = Arc::clone(&latest);
        std::thread::Builder::new()
            .name("top-healthd".into())
            .spawn(move || loop {
                let got = fetch(&url);
                *cell.lock().unwrap_or_else(|p| p.into_inner()) = Some(got);
                std::thread::sleep(interval);
            })?;
        Ok(Watcher { latest })
    }

    /// The latest fetch: `None` before the first.
    pub fn latest(&self) -> Option<Result<Status, String>> {
        self.latest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = parse_url("http://127.0.0.1:9762").unwrap();
        assert_eq!(
            (u.authority.as_str(), u.path.as_str()),
            ("127.0.0.1:9762", "/status")
        );
        let u = parse_url("[::1]:9762/").unwrap();
        assert_eq!(
            (u.authority.as_str(), u.path.as_str()),
            ("[::1]:9762", "/status")
        );
        let u = parse_url("http://lb1:80/healthd/status").unwrap();
        assert_eq!(u.path, "/healthd/status");
        assert!(parse_url("https://lb1:9762")
            .unwrap_err()
            .contains("only http://"));
        assert!(parse_url("lb1").is_err());
        assert!(parse_url("http://:80").is_err());
        assert!(parse_url("lb1:http").is_err());
    }

    #[test]
    fn a_status_document_gives_each_real_servers_state() {
        let doc = serde_json::json!({"services": [{
            "service": "TCP 10.0.0.100:80",
            "real_servers": [
                {"destination": "192.168.10.11:80", "state": "up", "maintenance": false},
                {"destination": "192.168.10.12:80", "state": "down", "maintenance": true},
                {"destination": "[fd00::13]:80", "state": "unknown"},
                {"destination": "nonsense", "state": "up"},
                {"destination": "192.168.10.14:80", "state": "sideways"}
            ]}, {"service": 5}]});
        let s = parse_status(&doc);
        let svc = "TCP 10.0.0.100:80".to_string();
        assert_eq!(s.len(), 3);
        assert_eq!(
            s[&(svc.clone(), "192.168.10.11:80".parse().unwrap())],
            Health::Up
        );
        assert_eq!(
            s[&(svc.clone(), "192.168.10.12:80".parse().unwrap())],
            Health::Maintenance
        );
        assert_eq!(s[&(svc, "[fd00::13]:80".parse().unwrap())], Health::Unknown);
        assert!(parse_status(&serde_json::json!([1, 2])).is_empty());
    }
}
