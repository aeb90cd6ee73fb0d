//! Check specs from JSON: every type with its fields, the defaults, the
//! errors with their JSON paths, and a service's check applied to its
//! destinations.

use std::time::Duration;

use ipvs_health::spec::{BodyMatch, Dns, Exec, Http, Https, Udp};
use ipvs_health::{destination_check, read_check, Check, CheckField, Probe};
use serde_json::{json, Value};

fn check(v: Value) -> Check {
    read_check(&v, "services[0].check")
        .unwrap_or_else(|e| panic!("{v}: {e}"))
        .expect("a check, not none")
}

fn error(v: Value) -> String {
    match read_check(&v, "services[0].check") {
        Ok(c) => panic!("{v} was taken: {c:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn tcp_with_defaults() {
    let c = check(json!({"type": "tcp"}));
    assert_eq!(c, Check::new(Probe::Tcp));
    assert_eq!(c.interval, Duration::from_secs(5));
    assert_eq!(c.timeout, Duration::from_secs(2));
    assert_eq!((c.rise, c.fall), (2, 3));
    assert_eq!(
        c.endpoint("10.0.0.1:80".parse().unwrap()),
        "10.0.0.1:80".parse().unwrap()
    );
}

#[test]
fn timing_and_overrides() {
    let c = check(json!({
        "type": "tcp", "address": "192.0.2.1", "port": 8080,
        "interval": 0.5, "timeout": 0.25, "rise": 1, "fall": 5
    }));
    assert_eq!(c.interval, Duration::from_millis(500));
    assert_eq!(c.timeout, Duration::from_millis(250));
    assert_eq!((c.rise, c.fall), (1, 5));
    // DR: the check goes to the VIP on the real server, not to its own address.
    assert_eq!(
        c.endpoint("10.0.0.1:80".parse().unwrap()),
        "192.0.2.1:8080".parse().unwrap()
    );
    // Only the interval given: the default timeout, cut to the interval.
    let c = check(json!({"type": "tcp", "interval": 1.5}));
    assert_eq!(c.timeout, Duration::from_millis(1500));
    // DR through IPVS: the mark of a fwmark service holding the real server alone, sent from
    // the director's own address (keepalived's fwmark and bindto).
    let c = check(json!({"type": "http", "address": "10.0.0.100", "mark": 11,
                         "source": "10.0.0.1"}));
    assert_eq!(c.mark, Some(11));
    assert_eq!(c.source, Some("10.0.0.1".parse().unwrap()));
    assert_eq!(
        (Check::new(Probe::Tcp).mark, Check::new(Probe::Tcp).source),
        (None, None)
    );
    let c = check(json!({"type": "tcp", "address": "2001:db8::1"}));
    assert_eq!(
        c.endpoint("[2001:db8::9]:443".parse().unwrap()),
        "[2001:db8::1]:443".parse().unwrap()
    );
}

#[test]
fn every_type_with_its_fields() {
    let c = check(json!({
        "type": "http", "path": "/health?full=1", "host": "www.example.test",
        "method": "HEAD", "expect_status": "200,204-299", "expect_body": "ok"
    }));
    let Probe::Http(Http {
        path,
        host,
        method,
        expect_status,
        expect_body,
    }) = c.probe
    else {
        panic!("not http: {c:?}")
    };
    assert_eq!(path.as_str(), "/health?full=1");
    assert_eq!(host.as_deref(), Some("www.example.test"));
    assert_eq!(method.as_str(), "HEAD");
    assert_eq!(expect_status.to_string(), "200,204-299");
    assert!(expect_status.contains(250) && !expect_status.contains(201));
    assert_eq!(expect_body, Some(BodyMatch::Substring("ok".into())));

    let c = check(json!({"type": "http"}));
    let Probe::Http(h) = &c.probe else { panic!() };
    assert_eq!((h.path.as_str(), h.method.as_str()), ("/", "GET"));
    assert!(h.expect_status.contains(200) && h.expect_status.contains(399));
    assert!(!h.expect_status.contains(400));

    let c = check(json!({
        "type": "https", "sni": "api.example.test", "verify": true,
        "expect_body": {"regex": "^\\{\"status\": ?\"ok\""}, "expect_status": 200
    }));
    let Probe::Https(Https { http, sni, verify }) = &c.probe else {
        panic!()
    };
    assert_eq!((sni.as_deref(), *verify), (Some("api.example.test"), true));
    assert!(http
        .expect_body
        .as_ref()
        .unwrap()
        .matches(b"{\"status\": \"ok\"}"));
    assert_eq!(http.expect_status.to_string(), "200");
    let Probe::Https(s) = check(json!({"type": "https"})).probe else {
        panic!()
    };
    assert!(!s.verify, "verify is off by default");

    let c = check(json!({"type": "udp", "send": "ping", "expect": "pong"}));
    assert_eq!(
        c.probe,
        Probe::Udp(Udp {
            send: b"ping".to_vec(),
            expect: Some(b"pong".to_vec())
        })
    );

    let c = check(json!({"type": "dns", "name": "www.example.test", "qtype": "aaaa"}));
    let Probe::Dns(Dns {
        name,
        qtype,
        expect_rcode,
    }) = &c.probe
    else {
        panic!()
    };
    assert_eq!(name.to_string(), "www.example.test");
    assert_eq!(qtype.to_string(), "AAAA");
    assert_eq!(ipvs_health::spec::rcode_word(*expect_rcode), "NOERROR");
    let Probe::Dns(d) =
        check(json!({"type": "dns", "name": "x.test", "expect_rcode": "NXDOMAIN"})).probe
    else {
        panic!()
    };
    assert_eq!(ipvs_health::spec::rcode_word(d.expect_rcode), "NXDOMAIN");

    let c = check(json!({"type": "exec", "command": ["/usr/lib/check", "--quick"]}));
    assert_eq!(
        c.probe,
        Probe::Exec(Exec {
            command: vec!["/usr/lib/check".into(), "--quick".into()]
        })
    );
    assert_eq!(c.type_word(), "exec");
}

#[test]
fn null_and_none_are_always_up() {
    assert_eq!(read_check(&json!(null), "x").unwrap(), None);
    assert_eq!(read_check(&json!({"type": "none"}), "x").unwrap(), None);
    let f: CheckField = serde_json::from_str(r#"{"type": "none"}"#).unwrap();
    assert_eq!(f, CheckField(None));
    let f: CheckField = serde_json::from_str(r#"{"type": "tcp", "rise": 4}"#).unwrap();
    assert_eq!(f.0.map(|c| c.rise), Some(4));
}

#[test]
fn bad_values_are_named_by_their_path() {
    for (spec, want) in [
        (json!({"type": "tcp", "interval": -1}),
         "services[0].check.interval: -1 is not a positive number of seconds"),
        (json!({"type": "tcp", "interval": 0}),
         "services[0].check.interval: 0 is not a positive number of seconds"),
        (json!({"type": "tcp", "interval": "5"}),
         "services[0].check.interval: \"5\" is not a number of seconds"),
        (json!({"type": "tcp", "interval": 100000}),
         "services[0].check.interval: 100000 is above 86400 seconds"),
        (json!({"type": "tcp", "timeout": -0.5}),
         "services[0].check.timeout: -0.5 is not a positive number of seconds"),
        (json!({"type": "tcp", "interval": 1, "timeout": 2}),
         "services[0].check.timeout: 2.0 s is longer than the interval (1.0 s)"),
        (json!({"type": "tcp", "rise": 0}),
         "services[0].check.rise: 0 is not a count from 1 to 1000"),
        (json!({"type": "tcp", "fall": 1.5}),
         "services[0].check.fall: 1.5 is not a count from 1 to 1000"),
        (json!({"type": "tcp", "fall": "3"}),
         "services[0].check.fall: \"3\" is not a count from 1 to 1000"),
        (json!({"type": "tcp", "port": 0}),
         "services[0].check.port: 0 is not a port (1 to 65535)"),
        (json!({"type": "tcp", "port": 70000}),
         "services[0].check.port: 70000 is not a port (1 to 65535)"),
        (json!({"type": "tcp", "address": "10.0.0.300"}),
         "services[0].check.address: \"10.0.0.300\" is not an IP address"),
        (json!({"type": "tcp", "source": "me"}),
         "services[0].check.source: \"me\" is not an IP address"),
        (json!({"type": "tcp", "mark": 0}),
         "services[0].check.mark: 0 is not a mark (1 to 4294967295)"),
        (json!({"type": "http", "mark": 4294967296u64}),
         "services[0].check.mark: 4294967296 is not a mark (1 to 4294967295)"),
        (json!({"type": "exec", "command": ["/bin/true"], "mark": 1}),
         "services[0].check.mark: not a field of \"exec\" checks"),
        (json!({"type": "icmp"}),
         "services[0].check.type: \"icmp\" is not a check type (one of tcp, http, https, udp, dns, exec, none)"),
        (json!({"type": 3}),
         "services[0].check.type: 3 is not a check type (one of tcp, http, https, udp, dns, exec, none)"),
        (json!({"interval": 1}),
         "services[0].check.type: missing (one of tcp, http, https, udp, dns, exec, none)"),
        (json!({"type": "tcp", "path": "/"}),
         "services[0].check.path: not a field of \"tcp\" checks"),
        (json!({"type": "none", "interval": 1}),
         "services[0].check.interval: not a field of \"none\" checks"),
        (json!({"type": "http", "sni": "x"}),
         "services[0].check.sni: not a field of \"http\" checks"),
        (json!({"type": "tcp", "intervall": 1}),
         "services[0].check.intervall: not a field of \"tcp\" checks"),
        (json!({"type": "http", "expect_status": "200-"}),
         "services[0].check.expect_status: \"200-\" is not a status range (like \"200-399\"): \"\" is not a status from 100 to 599"),
        (json!({"type": "http", "expect_status": "399-200"}),
         "services[0].check.expect_status: \"399-200\": the range 399-200 is empty"),
        (json!({"type": "http", "expect_status": "2xx"}),
         "services[0].check.expect_status: \"2xx\" is not a status range (like \"200-399\"): \"2xx\" is not a status from 100 to 599"),
        (json!({"type": "http", "expect_status": [200]}),
         "services[0].check.expect_status: [200] is not a status range (like \"200-399\")"),
        (json!({"type": "http", "path": "health"}),
         "services[0].check.path: \"health\" is not a path starting with /"),
        (json!({"type": "http", "method": "get"}),
         "services[0].check.method: \"get\" is not an HTTP method (GET, HEAD, ...)"),
        (json!({"type": "http", "host": ""}),
         "services[0].check.host: \"\" is not a host name (with an optional :port)"),
        (json!({"type": "http", "expect_body": {"regex": "("}}),
         "services[0].check.expect_body: bad regex \"(\": unclosed group"),
        (json!({"type": "http", "expect_body": 1}),
         "services[0].check.expect_body: 1 is not a substring or {\"regex\": \"...\"}"),
        (json!({"type": "https", "verify": "yes"}),
         "services[0].check.verify: \"yes\" is not true or false"),
        (json!({"type": "https", "sni": "bad name!"}),
         "services[0].check.sni: \"bad name!\" is not a TLS server name"),
        (json!({"type": "udp"}),
         "services[0].check.send: missing (the datagram to send)"),
        (json!({"type": "udp", "send": 1}),
         "services[0].check.send: 1 is not a string"),
        (json!({"type": "dns"}),
         "services[0].check.name: missing (the name to ask for)"),
        (json!({"type": "dns", "name": "x.test", "qtype": "BOGUS"}),
         "services[0].check.qtype: \"BOGUS\" is not a DNS record type (A, AAAA, ...)"),
        (json!({"type": "dns", "name": "x.test", "expect_rcode": "NOPE"}),
         "services[0].check.expect_rcode: \"NOPE\" is not a DNS response code (NOERROR, NXDOMAIN, ...)"),
        (json!({"type": "exec"}),
         "services[0].check.command: missing (the program and its arguments)"),
        (json!({"type": "exec", "command": []}),
         "services[0].check.command: [] is not a command (an array of strings, the program first)"),
        (json!({"type": "exec", "command": "/bin/true"}),
         "services[0].check.command: \"/bin/true\" is not a command (an array of strings, the program first)"),
        (json!({"type": "exec", "command": ["/bin/check", 1]}),
         "services[0].check.command: [\"/bin/check\",1] is not a command (an array of strings, the program first)"),
        (json!("tcp"),
         "services[0].check: \"tcp\" is not a check (an object or null)"),
    ] {
        let got = error(spec.clone());
        assert_eq!(got, want, "{spec}");
    }
}

#[test]
fn a_destination_check_overrides_its_service_check() {
    let service = json!({"type": "http", "path": "/health", "fall": 2});
    let own = json!({"type": "tcp", "port": 8080});
    let sp = "services[1].check";
    let dp = "services[1].destinations[2].check";

    let inherited = destination_check(Some(&service), sp, None, dp)
        .unwrap()
        .unwrap();
    assert_eq!(inherited.type_word(), "http");
    assert_eq!(inherited.fall, 2);

    let c = destination_check(Some(&service), sp, Some(&own), dp)
        .unwrap()
        .unwrap();
    assert_eq!(
        (c.type_word(), c.port, c.fall),
        ("tcp", Some(8080), 3),
        "replaced whole"
    );

    // null or none on the destination: always up, whatever its service says.
    assert_eq!(
        destination_check(Some(&service), sp, Some(&Value::Null), dp).unwrap(),
        None
    );
    let none = json!({"type": "none"});
    assert_eq!(
        destination_check(Some(&service), sp, Some(&none), dp).unwrap(),
        None
    );
    // Neither has a check: always up.
    assert_eq!(destination_check(None, sp, None, dp).unwrap(), None);
    // A destination check under a service without one.
    assert!(destination_check(None, sp, Some(&own), dp)
        .unwrap()
        .is_some());

    // Errors name the check they come from.
    let bad = json!({"type": "tcp", "rise": 0});
    assert_eq!(
        destination_check(Some(&service), sp, Some(&bad), dp)
            .unwrap_err()
            .to_string(),
        "services[1].destinations[2].check.rise: 0 is not a count from 1 to 1000"
    );
    let e = destination_check(Some(&bad), sp, None, dp).unwrap_err();
    assert_eq!(e.path, "services[1].check.rise");
    assert_eq!(e.message, "0 is not a count from 1 to 1000");
}

#[test]
fn a_check_read_with_serde_names_its_field() {
    let e = serde_json::from_str::<CheckField>(r#"{"type": "tcp", "interval": -1}"#).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("interval: -1 is not a positive number of seconds"),
        "{e}"
    );
}
