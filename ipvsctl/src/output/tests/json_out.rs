//! The JSON documents written: listing, connections, timeouts, daemons, `--watch` lines.

use super::*;

#[test]
fn list_json_has_the_documented_shape() {
    let text = list_json(&INFO, &list_state(), &ListOptions::default());
    assert!(text.ends_with("}\n"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], "1.2.1");
    assert_eq!(v["conn_tab_size"], 4096);
    let services = v["services"].as_array().unwrap();
    assert_eq!(services.len(), 9);
    let first = &services[0];
    assert_eq!(first["family"], "ipv4");
    assert_eq!(first["protocol"], "tcp");
    assert_eq!(first["address"], "10.1.1.1");
    assert_eq!(first["port"], 80);
    assert_eq!(first["fwmark"], serde_json::Value::Null);
    assert_eq!(first["scheduler"], "wlc");
    assert_eq!(first["flags"], serde_json::json!([]));
    assert_eq!(first["netmask"], "255.255.255.255");
    assert_eq!(first["persistence_engine"], serde_json::Value::Null);
    assert_eq!(first["stats"]["conns"], 3);
    assert_eq!(first["stats"]["in_bytes"], 360);
    assert_eq!(first["stats"]["in_bps"], 26);
    let dests = first["destinations"].as_array().unwrap();
    assert_eq!(dests.len(), 4);
    assert_eq!(dests[0]["address"], "10.2.2.2");
    assert_eq!(dests[0]["forward"], "masq");
    assert_eq!(dests[0]["tunnel"], serde_json::Value::Null);
    assert_eq!(dests[0]["weight"], 5);
    // Added with -x 100 -y 10, then edited (`-e ... -w 5`) without them: ipvsadm
    // sends 0 for both, so the kernel reports none.
    assert_eq!(dests[0]["upper_threshold"], 0);
    assert_eq!(dests[0]["lower_threshold"], 0);
    // The same destination in the second capture still has them.
    let thresholds = list_json(
        &INFO,
        &fixture_state(fixture!("listings/list_thresholds")),
        &ListOptions::default(),
    );
    let t: serde_json::Value = serde_json::from_str(&thresholds).unwrap();
    let d = &t["services"][0]["destinations"][0];
    assert_eq!(d["address"], "10.2.2.2");
    assert_eq!(d["upper_threshold"], 100);
    assert_eq!(d["lower_threshold"], 10);
    assert_eq!(dests[1]["forward"], "route");
    assert_eq!(dests[1]["active_conns"], 1);
    assert_eq!(dests[1]["inactive_conns"], 0);
    assert_eq!(dests[1]["persistent_conns"], 0);
    assert_eq!(dests[1]["stats"]["in_packets"], 2);
    assert_eq!(
        dests[2]["tunnel"],
        serde_json::json!({"type": "gue", "port": 6080, "flags": ["csum"]})
    );
    assert_eq!(
        dests[3]["tunnel"],
        serde_json::json!({"type": "gre", "port": 0, "flags": []})
    );
    let pe = &services[1];
    assert_eq!(pe["flags"], serde_json::json!(["persistent"]));
    assert_eq!(pe["timeout"], 100);
    assert_eq!(pe["netmask"], "255.255.255.0");
    assert_eq!(pe["persistence_engine"], "sip");
    assert_eq!(services[4]["flags"], serde_json::json!(["ops"]));
    assert_eq!(services[5]["protocol"], "sctp");
    assert_eq!(
        services[5]["flags"],
        serde_json::json!(["sh-fallback", "sh-port"])
    );
    let v6 = &services[6];
    assert_eq!(v6["family"], "ipv6");
    assert_eq!(v6["address"], "2001:db8::1");
    assert_eq!(v6["netmask"], "64");
    assert_eq!(v6["flags"], serde_json::json!(["persistent", "mh-port"]));
    let fw = &services[8];
    assert_eq!(fw["fwmark"], 8);
    assert_eq!(fw["family"], "ipv6");
    assert_eq!(fw["protocol"], serde_json::Value::Null);
    assert_eq!(fw["address"], serde_json::Value::Null);
    assert_eq!(fw["port"], serde_json::Value::Null);
    assert_eq!(fw["netmask"], "128");
}

#[test]
fn json_counters_are_full_64_bit_numbers() {
    let text = list_json(&INFO, &big_state(), &ListOptions::default());
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["services"][0]["stats"]["out_bytes"].as_u64(),
        Some(u64::MAX)
    );
    assert_eq!(
        v["services"][0]["destinations"][0]["stats"]["in_bytes"].as_u64(),
        Some(200_000_000_000_000)
    );
}

#[test]
fn other_json_documents() {
    let t = timeout_json(&Timeouts {
        tcp: 900,
        tcp_fin: 120,
        udp: 300,
    });
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&t).unwrap(),
        serde_json::json!({"tcp": 900, "tcp_fin": 120, "udp": 300})
    );
    let d = daemon_json(&[
        SyncDaemon {
            sync_maxlen: Some(1472),
            mcast_group: Some(ip("224.0.0.81")),
            mcast_port: Some(8848),
            mcast_ttl: Some(1),
            ..SyncDaemon::new(DaemonState::Master, "sync0", 5)
        },
        SyncDaemon::new(DaemonState::Backup, "eth0", 6),
    ]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&d).unwrap(),
        serde_json::json!({"daemons": [
            {"state": "master", "mcast_interface": "sync0", "sync_id": 5, "sync_maxlen": 1472,
             "mcast_group": "224.0.0.81", "mcast_port": 8848, "mcast_ttl": 1},
            {"state": "backup", "mcast_interface": "eth0", "sync_id": 6, "sync_maxlen": null,
             "mcast_group": null, "mcast_port": null, "mcast_ttl": null}
        ]})
    );
    let c = connections_json(&conns()[..2]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&c).unwrap(),
        serde_json::json!({"connections": [
            {"protocol": "tcp", "client_address": "10.0.0.1", "client_port": 36410,
             "virtual_address": "10.1.1.1", "virtual_port": 80,
             "destination_address": "10.2.2.3", "destination_port": 80,
             "state": "ESTABLISHED", "expires": 899,
             "persistence_engine": null, "persistence_data": null},
            {"protocol": "udp", "client_address": "2001:db8::5", "client_port": 53,
             "virtual_address": "2001:db8::1", "virtual_port": 53,
             "destination_address": "2001:db8::10", "destination_port": 53,
             "state": "UDP", "expires": 299,
             "persistence_engine": "sip", "persistence_data": "abc"}
        ]})
    );
}

#[test]
fn watch_json_lines_carry_counters_rates_and_kernel_estimates() {
    use std::time::{Duration, Instant};
    let key = ServiceKey::tcp(ip("10.0.0.1"), 80);
    let state = |conns: u64| {
        vec![VirtualServer {
            entry: ServiceEntry {
                service: Service::new(key),
                stats: Stats {
                    conns,
                    in_bytes: conns * 100,
                    cps: 4,
                    ..Stats::default()
                },
            },
            destinations: vec![DestinationEntry {
                destination: Destination::new(ip("2001:db8::10"), 80),
                active_conns: 1,
                inactive_conns: 2,
                persistent_conns: 0,
                stats: Stats {
                    conns,
                    ..Stats::default()
                },
            }],
        }]
    };
    let info = Info {
        version: 0x010201,
        conn_tab_size: 4096,
    };
    let opts = ListOptions {
        mode: ListMode::from_flags(false, false, false, false, false),
        numeric: true,
        exact: false,
        sort: true,
    };
    let mut sampler = ipvs::sampler::Sampler::new();
    let t0 = Instant::now();
    let mut docs = Vec::new();
    for (i, conns) in [10u64, 30, 4].into_iter().enumerate() {
        let s = state(conns);
        let sample = sampler.sample(t0 + Duration::from_secs(2 * i as u64), &s);
        let line = watch_json(1000.5 + i as f64, &info, &s, &sample, &opts);
        assert!(
            line.ends_with('\n') && !line.trim_end().contains('\n'),
            "{line}"
        );
        docs.push(serde_json::from_str::<serde_json::Value>(&line).unwrap());
    }
    let svc = |d: &serde_json::Value| d["services"][0].clone();
    assert_eq!(docs[0]["timestamp"], 1000.5);
    assert!(docs[0]["interval"].is_null());
    assert!(svc(&docs[0])["rates"].is_null());
    assert!(svc(&docs[0])["destinations"][0]["rates"].is_null());
    assert_eq!(docs[1]["interval"], 2.0);
    assert!(docs[0]["window"].is_null());
    assert_eq!(docs[1]["window"], 2.0);
    assert_eq!(svc(&docs[1])["stats"]["conns"], 30);
    assert_eq!(svc(&docs[1])["stats"]["cps"], 4);
    assert_eq!(svc(&docs[1])["rates"]["conns"], 10.0);
    assert_eq!(svc(&docs[1])["rates"]["in_bytes"], 1000.0);
    assert_eq!(svc(&docs[1])["destinations"][0]["address"], "2001:db8::10");
    assert_eq!(svc(&docs[1])["destinations"][0]["rates"]["conns"], 10.0);
    // Zeroed in between: the rate restarts from 0 instead of going negative.
    assert_eq!(svc(&docs[2])["rates"]["conns"], 2.0);
    assert_eq!(docs[2]["version"], "1.2.1");
    // The ordinary listing has no rates field.
    assert!(!list_json(&info, &state(1), &opts).contains("rates"));
}

#[test]
fn list_json_header_bytes_are_the_documented_ones() {
    // The header is the library's Info, flattened: the same bytes as before it was.
    assert_eq!(
        list_json(&INFO, &[], &ListOptions::default()),
        "{\n  \"version\": \"1.2.1\",\n  \"conn_tab_size\": 4096,\n  \"services\": []\n}\n"
    );
}
