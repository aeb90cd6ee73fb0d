//! Running one check: [`run`] gives a [`Report`] whose [`Outcome`] is up,
//! down, or "could not check" when the checker itself is in trouble (out of
//! file descriptors or buffers, its own address gone): that says nothing
//! about the server and must not take it down.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{header, Request};
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};

use crate::spec::{rcode_word, secs, Check, Dns, Exec, Http, Https, Probe, Udp};

/// The most of an HTTP body read for `expect_body`: the match looks at this
/// much from the start.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What is checked: a real server of a service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The service, as the caller names it (given to exec checks as
    /// `IPVS_SERVICE`), e.g. `TCP 10.0.0.1:80`.
    pub service: String,
    /// The real server's address and port (a check's `address` and `port`
    /// override them).
    pub server: SocketAddr,
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server passed (what it showed: `connect: ok`, `http: status 200`).
    Up(String),
    /// The server failed (`connect: connection refused`, `http: status 503`,
    /// `timeout after 1.0 s`).
    Down(String),
    /// The checker could not check (`connect: too many open files`): a fault
    /// of this host, not a result about the server.
    Unchecked(String),
}

impl Outcome {
    /// The short reason.
    pub fn reason(&self) -> &str {
        match self {
            Outcome::Up(r) | Outcome::Down(r) | Outcome::Unchecked(r) => r,
        }
    }
}

/// One check's outcome and how long it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Up, down, or not checked.
    pub outcome: Outcome,
    /// From the start of the check to its outcome.
    pub took: Duration,
}

/// Runs `check` once against `target`; never takes much longer than the
/// check's timeout.
pub async fn run(check: &Check, target: &Target) -> Report {
    let start = Instant::now();
    let to = check.endpoint(target.server);
    // The larger checks' futures are boxed: a target's task, waiting between checks, would
    // otherwise keep room for the largest (HTTPS, about 14 KB) whatever its own check.
    let outcome = match &check.probe {
        Probe::Exec(e) => Box::pin(exec(e, check, target, to)).await,
        Probe::Tcp => network(check, to, tcp(check, to)).await,
        Probe::Http(h) => Box::pin(network(check, to, http(check, h, None, to))).await,
        Probe::Https(s) => Box::pin(network(check, to, http(check, &s.http, Some(s), to))).await,
        Probe::Udp(u) => Box::pin(network(check, to, udp(check, u, to))).await,
        Probe::Dns(d) => Box::pin(network(check, to, dns(check, d, to))).await,
    };
    Report {
        outcome,
        took: start.elapsed(),
    }
}

pub(crate) fn timed_out(t: Duration) -> Outcome {
    Outcome::Down(format!("timeout after {} s", secs(t)))
}

/// A network check, cut at the check's timeout.
async fn network(
    check: &Check,
    to: SocketAddr,
    probe: impl std::future::Future<Output = Outcome>,
) -> Outcome {
    if to.port() == 0 {
        // A fwmark service's real server may have no port of its own.
        return Outcome::Unchecked("no port to check (set the check's port)".into());
    }
    match tokio::time::timeout(check.timeout, probe).await {
        Ok(o) => o,
        Err(_) => timed_out(check.timeout),
    }
}

async fn tcp(check: &Check, to: SocketAddr) -> Outcome {
    match connect(check, to).await {
        Ok(_) => Outcome::Up("connect: ok".into()),
        Err(o) => o,
    }
}

/// A TCP connection to `to`, sent from the check's `source` with its `mark`.
async fn connect(check: &Check, to: SocketAddr) -> Result<TcpStream, Outcome> {
    if check.mark.is_none() && check.source.is_none() {
        return TcpStream::connect(to)
            .await
            .map_err(|e| io_outcome("connect", &e));
    }
    let sock = match to {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(|e| io_outcome("connect", &e))?;
    if let Some(source) = own_source(check, to)? {
        sock.bind(source).map_err(|e| io_outcome("source", &e))?;
    }
    own_mark(&sock, check)?;
    sock.connect(to)
        .await
        .map_err(|e| io_outcome("connect", &e))
}

/// The check's `source` with port 0; an address of the other family than
/// `to` is the rules' mistake, not the server's.
pub(crate) fn own_source(check: &Check, to: SocketAddr) -> Result<Option<SocketAddr>, Outcome> {
    match check.source {
        None => Ok(None),
        Some(s) if s.is_ipv4() == to.is_ipv4() => Ok(Some(SocketAddr::new(s, 0))),
        Some(s) => Err(Outcome::Unchecked(format!(
            "source: {s} cannot send to {}",
            to.ip()
        ))),
    }
}

/// Sets the check's `mark` on its socket; refused (no CAP_NET_ADMIN), that
/// is this host's trouble.
pub(crate) fn own_mark(sock: &impl std::os::fd::AsFd, check: &Check) -> Result<(), Outcome> {
    match check.mark {
        None => Ok(()),
        Some(m) => nix::sys::socket::setsockopt(sock, nix::sys::socket::sockopt::Mark, &m)
            .map_err(|e| Outcome::Unchecked(format!("mark: {}", short(&io::Error::from(e))))),
    }
}

/// Errors that are the checker's own trouble, not the server's: out of file
/// descriptors (`EMFILE`, `ENFILE`), buffers or memory (`ENOBUFS`,
/// `ENOMEM`), no local address or port to send from (`EADDRNOTAVAIL`), no
/// IPv6 on this host (`EAFNOSUPPORT`). Unreachable networks and hosts are
/// the server's (its link or route is what is down, as far as a check can
/// tell).
pub fn is_own_failure(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::EMFILE
                | libc::ENFILE
                | libc::EADDRNOTAVAIL
                | libc::ENOBUFS
                | libc::ENOMEM
                | libc::EAFNOSUPPORT
        )
    )
}

/// The text [`short`] gives for the errors a check of a server that is down
/// usually meets, written without formatting (10,000 refused connects a second
/// are as many reasons).
fn usual(code: i32) -> Option<&'static str> {
    Some(match code {
        libc::ECONNREFUSED => "connection refused",
        libc::ECONNRESET => "connection reset by peer",
        libc::EHOSTUNREACH => "no route to host",
        libc::ENETUNREACH => "network is unreachable",
        libc::ETIMEDOUT => "connection timed out",
        _ => return None,
    })
}

/// An I/O error as an outcome: `stage: connection refused`.
pub fn io_outcome(stage: &str, e: &io::Error) -> Outcome {
    let reason = match e.raw_os_error().and_then(usual) {
        Some(text) => [stage, ": ", text].concat(),
        None => format!("{stage}: {}", short(e)),
    };
    if is_own_failure(e) {
        Outcome::Unchecked(reason)
    } else {
        Outcome::Down(reason)
    }
}

/// An I/O error's text without " (os error N)", in lower case as a reason.
fn short(e: &io::Error) -> String {
    let s = e.to_string();
    let s = match s.find(" (os error") {
        Some(i) => &s[..i],
        None => &s,
    };
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The I/O error under another error, if one is there.
fn io_source<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return Some(io);
        }
        cur = err.source();
    }
    None
}

async fn http(check: &Check, h: &Http, tls: Option<&Https>, to: SocketAddr) -> Outcome {
    let tcp = match connect(check, to).await {
        Ok(s) => s,
        Err(o) => return o,
    };
    let _ = tcp.set_nodelay(true);
    let default_port = if tls.is_some() { 443 } else { 80 };
    let authority = match &h.host {
        Some(host) => host.clone(),
        None if to.port() == default_port => host_of(to.ip()),
        None => format!("{}:{}", host_of(to.ip()), to.port()),
    };
    match tls {
        None => exchange(TokioIo::new(tcp), h, &authority).await,
        Some(s) => {
            let config = match tls_config(s.verify) {
                Ok(c) => c,
                Err(e) => return Outcome::Unchecked(e),
            };
            let name = server_name(s, to.ip());
            match tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
            {
                Ok(stream) => exchange(TokioIo::new(stream), h, &authority).await,
                Err(e) => match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    Some(t) => Outcome::Down(format!("tls: {t}")),
                    None => io_outcome("tls", &e),
                },
            }
        }
    }
}

fn host_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    }
}

/// The TLS server name: `sni`, else `host` without a port when it is a name,
/// else the address (which sends no SNI).
fn server_name(s: &Https, ip: IpAddr) -> ServerName<'static> {
    let from_host = s.http.host.as_deref().map(|h| {
        // "name:port" or "[v6]:port": the name part.
        match h.rsplit_once(':') {
            Some((n, p)) if p.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => h,
        }
        .trim_start_matches('[')
        .trim_end_matches(']')
    });
    s.sni
        .as_deref()
        .or(from_host)
        .and_then(|n| ServerName::try_from(n.to_string()).ok())
        .unwrap_or_else(|| ServerName::IpAddress(ip.into()))
}

async fn exchange<I>(io: I, h: &Http, authority: &str) -> Outcome
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = match hyper::client::conn::http1::handshake(io).await {
        Ok(x) => x,
        Err(e) => return hyper_outcome(&e),
    };
    let request = match Request::builder()
        .method(h.method.clone())
        .uri(h.path.as_str())
        .header(header::HOST, authority)
        .header(
            header::USER_AGENT,
            concat!("ipvs-health/", env!("CARGO_PKG_VERSION")),
        )
        .header(header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())
    {
        Ok(r) => r,
        Err(e) => return Outcome::Unchecked(format!("http: cannot build the request: {e}")),
    };
    let work = async move {
        let response = match sender.send_request(request).await {
            Ok(r) => r,
            Err(e) => return hyper_outcome(&e),
        };
        let status = response.status().as_u16();
        if !h.expect_status.contains(status) {
            return Outcome::Down(format!("http: status {status}"));
        }
        let Some(want) = &h.expect_body else {
            return Outcome::Up(format!("http: status {status}"));
        };
        let mut body = response.into_body();
        let mut got = Vec::new();
        while got.len() < BODY_LIMIT {
            match body.frame().await {
                None => break,
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        let room = BODY_LIMIT - got.len();
                        got.extend_from_slice(&data[..data.len().min(room)]);
                    }
                }
                Some(Err(e)) => return hyper_outcome(&e),
            }
        }
        if want.matches(&got) {
            Outcome::Up(format!("http: status {status}, body matches"))
        } else {
            Outcome::Down(format!("http: body does not {want}"))
        }
    };
    // The connection is driven here, not spawned: dropping this future (at
    // the timeout) closes it.
    tokio::pin!(work);
    tokio::pin!(conn);
    tokio::select! {
        out = &mut work => out,
        done = &mut conn => match done {
            Err(e) => hyper_outcome(&e),
            // Closed after the response: its buffered part is still read.
            Ok(()) => work.await,
        },
    }
}

fn hyper_outcome(e: &hyper::Error) -> Outcome {
    match io_source(e) {
        Some(io) => io_outcome("http", io),
        None => Outcome::Down(format!("http: {e}")),
    }
}

static INSECURE: OnceLock<Arc<ClientConfig>> = OnceLock::new();
static VERIFIED: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn client_config(
    builder: rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier>,
    roots: Option<RootCertStore>,
) -> Arc<ClientConfig> {
    let mut config = match roots {
        Some(r) => builder.with_root_certificates(r).with_no_client_auth(),
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider())))
            .with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// The TLS client settings, made once per process: without `verify`, any
/// certificate is taken (the check is about the server answering, as in
/// keepalived's SSL_GET); with it, the system's trusted roots, where
/// operators install the internal CAs that sign their real servers'
/// certificates.
fn tls_config(verify: bool) -> Result<Arc<ClientConfig>, String> {
    let builder = || {
        ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("tls: {e}"))
    };
    if !verify {
        if let Some(c) = INSECURE.get() {
            return Ok(c.clone());
        }
        let c = client_config(builder()?, None);
        return Ok(INSECURE.get_or_init(|| c).clone());
    }
    VERIFIED
        .get_or_init(|| {
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            if roots.is_empty() {
                return Err("tls: no trusted roots in the system store".into());
            }
            Ok(client_config(builder()?, Some(roots)))
        })
        .clone()
}

/// Takes any certificate, but still checks the handshake's signatures with
/// it (so the peer holds the certificate's key).
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A UDP socket connected to `to`, so that the kernel's ICMP port
/// unreachable comes back as "connection refused".
async fn udp_socket(check: &Check, stage: &str, to: SocketAddr) -> Result<UdpSocket, Outcome> {
    let any: IpAddr = match to {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let from = own_source(check, to)?.unwrap_or(SocketAddr::new(any, 0));
    let sock = UdpSocket::bind(from)
        .await
        .map_err(|e| io_outcome(stage, &e))?;
    own_mark(&sock, check)?;
    sock.connect(to).await.map_err(|e| io_outcome(stage, &e))?;
    Ok(sock)
}

async fn udp(check: &Check, u: &Udp, to: SocketAddr) -> Outcome {
    let sock = match udp_socket(check, "udp", to).await {
        Ok(s) => s,
        Err(o) => return o,
    };
    if let Err(e) = sock.send(&u.send).await {
        return io_outcome("udp", &e);
    }
    let mut buf = vec![0u8; 65_536];
    let n = match sock.recv(&mut buf).await {
        Ok(n) => n,
        Err(e) => return io_outcome("udp", &e),
    };
    let reply = &buf[..n];
    match &u.expect {
        Some(want) if !want.is_empty() && !reply.windows(want.len()).any(|w| w == want) => {
            Outcome::Down(format!(
                "udp: reply of {n} bytes without {:?}",
                String::from_utf8_lossy(want)
            ))
        }
        _ => Outcome::Up(format!("udp: reply of {n} bytes")),
    }
}

async fn dns(check: &Check, d: &Dns, to: SocketAddr) -> Outcome {
    use hickory_proto::op::{Message, Query};

    let mut query = Message::query();
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(d.name.clone(), d.qtype));
    let bytes = match query.to_vec() {
        Ok(b) => b,
        Err(e) => return Outcome::Unchecked(format!("dns: cannot build the query: {e}")),
    };
    let sock = match udp_socket(check, "dns", to).await {
        Ok(s) => s,
        Err(o) => return o,
    };
    if let Err(e) = sock.send(&bytes).await {
        return io_outcome("dns", &e);
    }
    let mut buf = vec![0u8; 65_536];
    loop {
        let n = match sock.recv(&mut buf).await {
            Ok(n) => n,
            Err(e) => return io_outcome("dns", &e),
        };
        let reply = match Message::from_vec(&buf[..n]) {
            Ok(m) => m,
            Err(e) => return Outcome::Down(format!("dns: bad reply: {e}")),
        };
        // A late answer to an earlier query is not this one's.
        if reply.metadata.id != query.metadata.id {
            continue;
        }
        let rcode = reply.metadata.response_code;
        if rcode != d.expect_rcode {
            return Outcome::Down(format!("dns: rcode {}", rcode_word(rcode)));
        }
        if rcode == hickory_proto::op::ResponseCode::NoError && reply.answers.is_empty() {
            return Outcome::Down("dns: no answer".into());
        }
        let n = reply.answers.len();
        return Outcome::Up(format!(
            "dns: rcode {}, {n} answer{}",
            rcode_word(rcode),
            if n == 1 { "" } else { "s" }
        ));
    }
}

async fn exec(e: &Exec, check: &Check, target: &Target, to: SocketAddr) -> Outcome {
    let server = target.server;
    let mut cmd = tokio::process::Command::new(&e.command[0]);
    cmd.args(&e.command[1..])
        .env("IPVS_SERVICE", &target.service)
        .env("IPVS_REAL_SERVER", server.to_string())
        .env("IPVS_REAL_ADDRESS", server.ip().to_string())
        .env("IPVS_REAL_PORT", server.port().to_string())
        .env("IPVS_CHECK_ADDRESS", to.ip().to_string())
        .env("IPVS_CHECK_PORT", to.port().to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        // Its own group, so that the timeout kills what it started too.
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(err) => {
            return Outcome::Unchecked(format!("exec: {}: {}", e.command[0], short(&err)));
        }
    };
    let pid = child.id();
    match tokio::time::timeout(check.timeout, child.wait()).await {
        Ok(Ok(status)) => match (
            status.code(),
            std::os::unix::process::ExitStatusExt::signal(&status),
        ) {
            (Some(0), _) => Outcome::Up("exec: exit 0".into()),
            (Some(code), _) => Outcome::Down(format!("exec: exit status {code}")),
            (None, Some(sig)) => Outcome::Down(format!("exec: killed by signal {sig}")),
            (None, None) => Outcome::Down(format!("exec: {status}")),
        },
        Ok(Err(err)) => Outcome::Unchecked(format!("exec: wait: {}", short(&err))),
        Err(_) => {
            if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                // The group may be gone already; nothing to do then.
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let _ = child.kill().await;
            timed_out(check.timeout)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_failures_are_not_downs() {
        for code in [
            libc::EMFILE,
            libc::ENFILE,
            libc::EADDRNOTAVAIL,
            libc::ENOBUFS,
        ] {
            let o = io_outcome("connect", &io::Error::from_raw_os_error(code));
            assert!(matches!(o, Outcome::Unchecked(_)), "{code}: {o:?}");
        }
        for code in [libc::ECONNREFUSED, libc::EHOSTUNREACH, libc::ECONNRESET] {
            let o = io_outcome("connect", &io::Error::from_raw_os_error(code));
            assert!(matches!(o, Outcome::Down(_)), "{code}: {o:?}");
        }
        assert_eq!(
            io_outcome("connect", &io::Error::from_raw_os_error(libc::ECONNREFUSED)),
            Outcome::Down("connect: connection refused".into())
        );
    }

    #[test]
    fn the_usual_reasons_are_the_errors_own_words() {
        for code in [
            libc::ECONNREFUSED,
            libc::ECONNRESET,
            libc::EHOSTUNREACH,
            libc::ENETUNREACH,
            libc::ETIMEDOUT,
        ] {
            let e = io::Error::from_raw_os_error(code);
            assert_eq!(usual(code), Some(short(&e).as_str()), "{code}");
            assert_eq!(
                io_outcome("connect", &e).reason(),
                format!("connect: {}", short(&e))
            );
        }
        assert_eq!(usual(libc::EMFILE), None);
    }

    #[test]
    fn sni_from_host_without_port() {
        let mut s = Https::default();
        s.http.host = Some("www.example.test:8443".into());
        let ip: IpAddr = Ipv4Addr::LOCALHOST.into();
        assert_eq!(
            server_name(&s, ip),
            ServerName::try_from("www.example.test").unwrap()
        );
        s.sni = Some("other.test".into());
        assert_eq!(
            server_name(&s, ip),
            ServerName::try_from("other.test").unwrap()
        );
        let bare = Https::default();
        assert_eq!(server_name(&bare, ip), ServerName::IpAddress(ip.into()));
    }
}
