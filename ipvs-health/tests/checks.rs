//! Each checker against real servers on loopback: up and down, with the
//! reasons they give.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{rdata::A, RData, Record};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use ipvs_health::{read_check, run, Check, Outcome, Target};
use serde_json::{json, Value};
use tokio::net::{TcpListener, UdpSocket};

fn spec(v: Value) -> Check {
    read_check(&v, "check").unwrap().unwrap()
}

fn target(server: SocketAddr) -> Target {
    Target {
        service: "TCP 192.0.2.1:80".into(),
        server,
    }
}

async fn outcome(v: Value, server: SocketAddr) -> Outcome {
    run(&spec(v), &target(server)).await.outcome
}

fn up(o: &Outcome) -> bool {
    matches!(o, Outcome::Up(_))
}

/// A loopback port nothing listens on (bound, then closed).
async fn closed_tcp_port() -> SocketAddr {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    l.local_addr().unwrap()
}

async fn handler(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match req.uri().path() {
        "/" => (
            200,
            format!("all ok, host {}", req.headers()["host"].to_str().unwrap()),
        ),
        "/fail" => (503, "overloaded".to_string()),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            (200, "late".to_string())
        }
        _ => (404, "no such page".to_string()),
    };
    Ok(Response::builder()
        .status(status)
        .body(Full::new(Bytes::from(body)))
        .unwrap())
}

async fn serve<I>(io: I)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), hyper::service::service_fn(handler))
        .await;
}

/// An HTTP server on loopback (`/` 200, `/fail` 503, `/slow` never in time).
async fn http_server(bind: SocketAddr) -> SocketAddr {
    let l = TcpListener::bind(bind).await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(serve(s));
        }
    });
    addr
}

/// The same over TLS, with a self-signed certificate for `localhost`.
async fn https_server() -> SocketAddr {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(s).await {
                    serve(tls).await;
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn tcp_up_refused_and_address_override() {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let open = l.local_addr().unwrap();
    assert_eq!(
        outcome(json!({"type": "tcp"}), open).await,
        Outcome::Up("connect: ok".into())
    );
    let closed = closed_tcp_port().await;
    assert_eq!(
        outcome(json!({"type": "tcp"}), closed).await,
        Outcome::Down("connect: connection refused".into())
    );
    // The real server's own port is closed; the check's `port` is open.
    let o = outcome(json!({"type": "tcp", "port": open.port()}), closed).await;
    assert!(up(&o), "{o:?}");
    // A fwmark service's real server without a port, and none in the check.
    assert_eq!(
        outcome(json!({"type": "tcp"}), "127.0.0.1:0".parse().unwrap()).await,
        Outcome::Unchecked("no port to check (set the check's port)".into())
    );
    // The real server is on ::1 (nothing there); the check's `address` is 127.0.0.1.
    let v6: SocketAddr = format!("[::1]:{}", open.port()).parse().unwrap();
    let o = outcome(json!({"type": "tcp", "address": "127.0.0.1"}), v6).await;
    assert!(up(&o), "{o:?}");
}

/// `source`: the check leaves from that address (the listener sees it); one of the other family
/// than the address checked is this host's mistake, not a server down.
#[tokio::test]
async fn tcp_and_udp_from_the_source_address() {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let open = l.local_addr().unwrap();
    let spec_from = |t: &str, from: &str| json!({"type": t, "source": from, "send": "ping"});
    let (o, peer) = tokio::join!(
        outcome(json!({"type": "tcp", "source": "127.0.0.2"}), open),
        l.accept()
    );
    assert!(up(&o), "{o:?}");
    assert_eq!(peer.unwrap().1.ip(), "127.0.0.2".parse::<IpAddr>().unwrap());
    assert_eq!(
        outcome(json!({"type": "tcp", "source": "::1"}), open).await,
        Outcome::Unchecked(format!("source: ::1 cannot send to {}", open.ip()))
    );
    let echo = udp_echo().await;
    let o = outcome(spec_from("udp", "127.0.0.3"), echo).await;
    assert!(up(&o), "{o:?}");
    assert_eq!(
        outcome(spec_from("udp", "::1"), echo).await,
        Outcome::Unchecked(format!("source: ::1 cannot send to {}", echo.ip()))
    );
}

/// `mark` needs CAP_NET_ADMIN: with it the check passes as without; refused, it is not checked
/// (never down).
#[tokio::test]
async fn tcp_with_a_mark() {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let open = l.local_addr().unwrap();
    let o = outcome(json!({"type": "tcp", "mark": 7}), open).await;
    match &o {
        Outcome::Up(_) => {}
        Outcome::Unchecked(r) => assert_eq!(r, "mark: operation not permitted"),
        Outcome::Down(_) => panic!("a mark refused took the server down: {o:?}"),
    }
}

#[tokio::test]
async fn tcp_on_ipv6_loopback() {
    let Ok(l) = TcpListener::bind("[::1]:0").await else {
        // A host without IPv6 on loopback: the override test above covers
        // the address; nothing to check here.
        return;
    };
    let o = outcome(json!({"type": "tcp"}), l.local_addr().unwrap()).await;
    assert!(up(&o), "{o:?}");
}

#[tokio::test]
async fn http_status_body_and_timeout() {
    let s = http_server((Ipv4Addr::LOCALHOST, 0).into()).await;
    assert_eq!(
        outcome(json!({"type": "http"}), s).await,
        Outcome::Up("http: status 200".into())
    );
    assert_eq!(
        outcome(json!({"type": "http", "path": "/fail"}), s).await,
        Outcome::Down("http: status 503".into())
    );
    assert_eq!(
        outcome(
            json!({"type": "http", "path": "/fail", "expect_status": "500-599"}),
            s
        )
        .await,
        Outcome::Up("http: status 503".into())
    );
    assert_eq!(
        outcome(json!({"type": "http", "path": "/nope"}), s).await,
        Outcome::Down("http: status 404".into())
    );
    // The Host header: the address and port by default, `host` when set.
    let host = format!("host 127.0.0.1:{}", s.port());
    let o = outcome(json!({"type": "http", "expect_body": host}), s).await;
    assert!(up(&o), "{o:?}");
    let o = outcome(
        json!({"type": "http", "host": "www.example.test", "expect_body": "host www.example.test"}),
        s,
    )
    .await;
    assert!(up(&o), "{o:?}");
    assert_eq!(
        outcome(json!({"type": "http", "expect_body": "not there"}), s).await,
        Outcome::Down("http: body does not contain \"not there\"".into())
    );
    let o = outcome(
        json!({"type": "http", "expect_body": {"regex": "^all ok, host [0-9.:]+$"}}),
        s,
    )
    .await;
    assert!(up(&o), "{o:?}");
    assert_eq!(
        outcome(
            json!({"type": "http", "expect_body": {"regex": "^down"}}),
            s
        )
        .await,
        Outcome::Down("http: body does not match /^down/".into())
    );
    let started = Instant::now();
    assert_eq!(
        outcome(
            json!({"type": "http", "path": "/slow", "interval": 1, "timeout": 0.3}),
            s
        )
        .await,
        Outcome::Down("timeout after 0.3 s".into())
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the timeout cut it short"
    );
    assert_eq!(
        outcome(json!({"type": "http"}), closed_tcp_port().await).await,
        Outcome::Down("connect: connection refused".into())
    );
}

#[tokio::test]
async fn http_to_something_that_is_not_http() {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut s, _)) = l.accept().await {
            let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2\r\n").await;
        }
    });
    let o = outcome(json!({"type": "http"}), addr).await;
    assert!(
        matches!(&o, Outcome::Down(r) if r.starts_with("http: ")),
        "{o:?}"
    );
}

#[tokio::test]
async fn https_self_signed_with_and_without_verify() {
    let s = https_server().await;
    assert_eq!(
        outcome(json!({"type": "https"}), s).await,
        Outcome::Up("http: status 200".into())
    );
    assert_eq!(
        outcome(
            json!({"type": "https", "sni": "localhost", "path": "/fail"}),
            s
        )
        .await,
        Outcome::Down("http: status 503".into())
    );
    // verify: the self-signed certificate is no system root's.
    let o = outcome(
        json!({"type": "https", "sni": "localhost", "verify": true}),
        s,
    )
    .await;
    match &o {
        Outcome::Down(r) => assert!(r.starts_with("tls: invalid peer certificate"), "{r}"),
        // A host without a system CA store cannot verify at all.
        Outcome::Unchecked(r) => assert_eq!(r, "tls: no trusted roots in the system store"),
        Outcome::Up(_) => panic!("a self-signed certificate passed verify: {o:?}"),
    }
    // Plain HTTP to a TLS server fails.
    let o = outcome(json!({"type": "http"}), s).await;
    assert!(!up(&o), "{o:?}");
    // TLS to a plain HTTP server fails too.
    let plain = http_server((Ipv4Addr::LOCALHOST, 0).into()).await;
    let o = outcome(json!({"type": "https"}), plain).await;
    assert!(
        matches!(&o, Outcome::Down(r) if r.starts_with("tls: ")),
        "{o:?}"
    );
}

/// A UDP server answering `pong:` and what it got.
async fn udp_echo() -> SocketAddr {
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = sock.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = sock.recv_from(&mut buf).await {
            let mut reply = b"pong:".to_vec();
            reply.extend_from_slice(&buf[..n]);
            let _ = sock.send_to(&reply, from).await;
        }
    });
    addr
}

#[tokio::test]
async fn udp_reply_expect_and_refused() {
    let s = udp_echo().await;
    assert_eq!(
        outcome(json!({"type": "udp", "send": "ping"}), s).await,
        Outcome::Up("udp: reply of 9 bytes".into())
    );
    let o = outcome(
        json!({"type": "udp", "send": "ping", "expect": "pong:ping"}),
        s,
    )
    .await;
    assert!(up(&o), "{o:?}");
    assert_eq!(
        outcome(json!({"type": "udp", "send": "ping", "expect": "PONG"}), s).await,
        Outcome::Down("udp: reply of 9 bytes without \"PONG\"".into())
    );
    // Nothing on the port: the kernel's port unreachable.
    let closed = {
        let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        sock.local_addr().unwrap()
    };
    assert_eq!(
        outcome(json!({"type": "udp", "send": "ping"}), closed).await,
        Outcome::Down("udp: connection refused".into())
    );
    // A server that never answers: the timeout.
    let silent = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    assert_eq!(
        outcome(
            json!({"type": "udp", "send": "ping", "interval": 1, "timeout": 0.2}),
            silent.local_addr().unwrap()
        )
        .await,
        Outcome::Down("timeout after 0.2 s".into())
    );
}

/// A DNS responder: `up.test` has an A record, `empty.test` no records,
/// anything else is NXDOMAIN.
async fn dns_responder() -> SocketAddr {
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = sock.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = sock.recv_from(&mut buf).await {
            let Ok(q) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut r = Message::response(q.metadata.id, q.metadata.op_code);
            r.add_queries(q.queries.clone());
            let name = q.queries[0].name().clone();
            match name.to_string().as_str() {
                "up.test." => {
                    r.add_answer(Record::from_rdata(
                        name,
                        60,
                        RData::A(A(Ipv4Addr::LOCALHOST)),
                    ));
                }
                "empty.test." => {}
                _ => r.metadata.response_code = ResponseCode::NXDomain,
            }
            let _ = sock.send_to(&r.to_vec().unwrap(), from).await;
        }
    });
    addr
}

#[tokio::test]
async fn dns_rcode_and_answers() {
    let s = dns_responder().await;
    assert_eq!(
        outcome(json!({"type": "dns", "name": "up.test"}), s).await,
        Outcome::Up("dns: rcode NOERROR, 1 answer".into())
    );
    assert_eq!(
        outcome(json!({"type": "dns", "name": "gone.test"}), s).await,
        Outcome::Down("dns: rcode NXDOMAIN".into())
    );
    assert_eq!(
        outcome(json!({"type": "dns", "name": "empty.test"}), s).await,
        Outcome::Down("dns: no answer".into())
    );
    let o = outcome(
        json!({"type": "dns", "name": "gone.test", "expect_rcode": "NXDOMAIN"}),
        s,
    )
    .await;
    assert!(up(&o), "{o:?}");
}

#[tokio::test]
async fn exec_exit_status_environment_and_timeout() {
    let server: SocketAddr = "127.0.0.1:8080".parse().unwrap();
    assert_eq!(
        outcome(json!({"type": "exec", "command": ["true"]}), server).await,
        Outcome::Up("exec: exit 0".into())
    );
    assert_eq!(
        outcome(json!({"type": "exec", "command": ["false"]}), server).await,
        Outcome::Down("exec: exit status 1".into())
    );
    let script = r#"test "$IPVS_SERVICE" = "TCP 192.0.2.1:80" &&
        test "$IPVS_REAL_SERVER" = 127.0.0.1:8080 && test "$IPVS_REAL_ADDRESS" = 127.0.0.1 &&
        test "$IPVS_REAL_PORT" = 8080 && test "$IPVS_CHECK_ADDRESS" = 127.0.0.2 &&
        test "$IPVS_CHECK_PORT" = 9000"#;
    let o = outcome(
        json!({"type": "exec", "command": ["sh", "-c", script], "address": "127.0.0.2", "port": 9000}),
        server,
    )
    .await;
    assert!(up(&o), "{o:?}");
    // A hung check is killed, with what it started (its process group).
    let dir = std::env::temp_dir().join(format!("ipvs-health-exec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mark = dir.join("survived");
    let hung = format!("(sleep 2; touch {}) & sleep 30", mark.display());
    let started = Instant::now();
    assert_eq!(
        outcome(
            json!({"type": "exec", "command": ["sh", "-c", hung], "interval": 1, "timeout": 0.3}),
            server
        )
        .await,
        Outcome::Down("timeout after 0.3 s".into())
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the timeout cut it short"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!mark.exists(), "a child of the killed check lived on");
    let _ = std::fs::remove_dir_all(&dir);
    // A program that is not there: this host's trouble, not the server's.
    let o = outcome(
        json!({"type": "exec", "command": ["/nonexistent/check"]}),
        server,
    )
    .await;
    assert_eq!(
        o,
        Outcome::Unchecked("exec: /nonexistent/check: no such file or directory".into())
    );
}
