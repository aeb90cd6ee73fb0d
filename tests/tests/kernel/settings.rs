//! Kernel settings through the library (`ipvs::settings`): the `net.ipv4.vs.*` sysctls as the
//! kernel has them, a settings plan made and then planned again as nothing, a refused change
//! that sets everything back, and bad values caught before anything is written.

use std::collections::BTreeMap;

use ipvs::settings::{settings_plan, SettingChange, Settings, SysctlValue};
use ipvs::{DaemonState, SyncDaemon, Timeouts};

use crate::harness::{require_ipvs, NetNs};
use crate::support::*;

/// `sysctl -n net.ipv4.vs.NAME` in the namespace, as the library reads such text.
fn sysctl_n(ns: &NetNs, name: &str) -> SysctlValue {
    SysctlValue::parse(&ns.exec_ok("sysctl", &["-n", &format!("net.ipv4.vs.{name}")]))
}

/// What the kernel has, read with the tools: timeouts (`ipvsadm -L --timeout`), the sysctls
/// named and the daemons (`ipvsadm -L --daemon`).
fn seen(ns: &NetNs, names: &[&str]) -> (String, BTreeMap<String, SysctlValue>, String) {
    let sysctls = names
        .iter()
        .map(|n| (n.to_string(), sysctl_n(ns, n)))
        .collect();
    (
        ns.ipvsadm_ok(&["-L", "--timeout"]),
        sysctls,
        ns.ipvsadm_ok(&["-L", "--daemon"]),
    )
}

#[test]
fn settings_read_plan_apply_and_roll_back() {
    require_ipvs();
    let ns = NetNs::new();
    add_dummy(&ns, "sync0", &["192.168.78.1/24"]);
    let ipvs = open(&ns);

    // Every sysctl of the namespace, as sysctl(8) reads it there.
    let all = ipvs::settings::sysctls(&ipvs).expect("sysctls");
    for name in [
        "expire_nodest_conn",
        "expire_quiescent_template",
        "conn_reuse_mode",
        "sloppy_tcp",
        "sync_threshold",
        "amemthresh",
    ] {
        assert!(all.contains_key(name), "no {name} in {all:?}");
    }
    assert!(matches!(all["sync_threshold"], SysctlValue::Ints(ref v) if v.len() == 2));
    for (name, value) in &all {
        assert_eq!(&sysctl_n(&ns, name), value, "{name}");
    }
    assert_eq!(
        ipvs::settings::sysctl(&ipvs, "no_such_sysctl").expect("read"),
        None
    );

    let names = [
        "expire_nodest_conn",
        "expire_quiescent_template",
        "sloppy_tcp",
    ];
    let mut desired = Settings {
        timeouts: Some(Timeouts {
            tcp: 1000,
            tcp_fin: 100,
            udp: 200,
        }),
        sync_daemons: Some(vec![SyncDaemon::new(DaemonState::Master, "sync0", 9)]),
        ..Settings::default()
    };
    for n in names {
        desired.sysctls.insert(n.to_string(), SysctlValue::Int(1));
    }
    assert_eq!(desired.check(&all), Vec::<String>::new());
    let before = seen(&ns, &names);
    let current = ipvs::settings::read(&ipvs, &desired).expect("read settings");
    let plan = settings_plan(&current, &desired);
    assert_eq!(plan.len(), 5, "{plan:?}");
    ipvs::settings::apply(&ipvs, &plan).expect("apply settings");
    let (timeouts, sysctls, daemons) = seen(&ns, &names);
    assert_eq!(timeouts.trim(), "Timeout (tcp tcpfin udp): 1000 100 200");
    for n in names {
        assert_eq!(sysctls[n], SysctlValue::Int(1), "{n}");
    }
    assert!(
        daemons.starts_with("master sync daemon (mcast=sync0, syncid=9"),
        "{daemons}"
    );
    let again = settings_plan(&ipvs::settings::read(&ipvs, &desired).unwrap(), &desired);
    assert!(again.is_empty(), "planned again: {again:?}");

    // A later change the kernel refuses (a daemon on an interface that is not there): what was
    // changed before it is set back.
    let applied = seen(&ns, &names);
    let mut later = desired.clone();
    later.timeouts = Some(Timeouts {
        tcp: 3000,
        tcp_fin: 0,
        udp: 0,
    });
    later
        .sysctls
        .insert("sloppy_tcp".into(), SysctlValue::Int(0));
    later
        .sysctls
        .insert("sync_threshold".into(), SysctlValue::Ints(vec![4, 60]));
    later.sync_daemons = Some(vec![SyncDaemon::new(DaemonState::Master, "nosuch0", 9)]);
    let with_threshold: Vec<&str> = names.iter().copied().chain(["sync_threshold"]).collect();
    let applied_threshold = seen(&ns, &with_threshold);
    let plan = settings_plan(&ipvs::settings::read(&ipvs, &later).unwrap(), &later);
    let lines: Vec<String> = plan.changes.iter().map(SettingChange::to_string).collect();
    assert_eq!(
        lines,
        [
            "--set 3000 0 0",
            "/proc/sys/net/ipv4/vs/sloppy_tcp = 0",
            "/proc/sys/net/ipv4/vs/sync_threshold = 4 60",
            "--stop-daemon master",
            "--start-daemon master --mcast-interface nosuch0 --syncid 9",
        ]
    );
    let refusal = ipvs::settings::apply(&ipvs, &plan).expect_err("a daemon on no interface");
    assert_eq!(refusal.undone, 4, "{refusal}");
    assert!(refusal.undo_failed.is_empty(), "{refusal}");
    assert_eq!(seen(&ns, &with_threshold), applied_threshold);
    assert_eq!(seen(&ns, &names), applied);
    assert_ne!(applied, before);

    // Bad values are caught before anything is written.
    let mut bad = Settings::default();
    bad.sysctls
        .insert("expire_nodest_con".into(), SysctlValue::Int(1));
    bad.sysctls
        .insert("conn_reuse_mode".into(), SysctlValue::Int(9));
    bad.sysctls
        .insert("sync_threshold".into(), SysctlValue::Int(3));
    let problems = bad.check(&ipvs::settings::sysctls(&ipvs).unwrap());
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].starts_with("sysctls.conn_reuse_mode: 9 is out of range"));
    assert!(problems[1].starts_with("sysctls.expire_nodest_con: no such sysctl"));
    assert!(problems[2].starts_with("sysctls.sync_threshold: 3 is an integer"));
    // The kernel refuses what the check refuses: its own rule for sync_threshold.
    let refused =
        ipvs::settings::set_sysctl(&ipvs, "sync_threshold", &SysctlValue::Ints(vec![60, 4]));
    assert!(
        refused.is_err(),
        "the kernel took a threshold above its period"
    );
    assert_eq!(seen(&ns, &with_threshold), applied_threshold);
}

/// `ipvsctl -S --json --settings` adds the kernel's timeouts, every sysctl (as sysctl(8) reads
/// it) and the daemons (as `-L --daemon --json` lists them) to the save document; without
/// `--settings` the document has none of them, and `-S -n` stays ipvsadm's.
#[test]
fn save_json_writes_the_settings_only_when_asked() {
    require_ipvs();
    let ns = NetNs::new();
    add_dummy(&ns, "sync0", &["192.168.79.1/24"]);
    ns.ipvsadm_ok(&["-A", "-t", "10.1.2.3:80", "-s", "rr"]);
    ns.ipvsadm_ok(&["--set", "1234", "56", "78"]);
    ns.ipvsadm_ok(&[
        "--start-daemon",
        "backup",
        "--mcast-interface",
        "sync0",
        "--syncid",
        "4",
    ]);
    crate::lab::sysctl(&ns, "net.ipv4.vs.expire_nodest_conn", "1");

    let plain: serde_json::Value =
        serde_json::from_str(&ns.exec_ok("ipvsctl", &["-S", "--json"])).unwrap();
    let keys: Vec<&String> = plain.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["services"]);

    let doc: serde_json::Value =
        serde_json::from_str(&ns.exec_ok("ipvsctl", &["-S", "-n", "--json", "--settings"]))
            .unwrap();
    assert_eq!(doc["services"], plain["services"]);
    assert_eq!(
        doc["timeouts"],
        serde_json::json!({"tcp": 1234, "tcp_fin": 56, "udp": 78})
    );
    let daemons: serde_json::Value =
        serde_json::from_str(&ns.exec_ok("ipvsctl", &["-L", "--daemon", "--json"])).unwrap();
    assert_eq!(doc["sync_daemons"], daemons["daemons"]);
    assert_eq!(doc["sync_daemons"][0]["state"], "backup");
    let sysctls = doc["sysctls"].as_object().expect("sysctls");
    assert_eq!(sysctls["expire_nodest_conn"], 1);
    let names = ns.exec_ok("ls", &["/proc/sys/net/ipv4/vs"]);
    let mut names: Vec<&str> = names.split_whitespace().collect();
    names.sort_unstable();
    assert_eq!(
        sysctls.keys().map(String::as_str).collect::<Vec<_>>(),
        names
    );
    for (name, value) in sysctls {
        let read: SysctlValue = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(read, sysctl_n(&ns, name), "{name}");
    }
    assert_eq!(
        ns.exec_ok("ipvsctl", &["-S", "-n"]),
        ns.ipvsadm_ok(&["-S", "-n"])
    );
    let (code, _, err) = ns.exec("ipvsctl", &["-S", "--settings"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--settings is only for -S --json"), "{err}");
}

/// `ipvsctl apply FILE` in the namespace: exit status, stdout, stderr.
fn apply(ns: &NetNs, args: &[&str], doc: &serde_json::Value) -> (i32, String, String) {
    let file = format!("/tmp/{}-settings.json", ns.name());
    std::fs::write(&file, doc.to_string()).unwrap();
    let mut all = vec!["apply", "-f", &file];
    all.extend_from_slice(args);
    let out = ns.exec("ipvsctl", &all);
    let _ = std::fs::remove_file(&file);
    out
}

/// What the settings test compares: the table (`ipvsadm -S -n`) with the settings it sets.
fn kernel_view(ns: &NetNs) -> (String, (String, BTreeMap<String, SysctlValue>, String)) {
    (
        ns.ipvsadm_ok(&["-S", "-n"]),
        seen(
            ns,
            &[
                "expire_nodest_conn",
                "expire_quiescent_template",
                "sloppy_tcp",
                "sync_threshold",
            ],
        ),
    )
}

/// The proof: `apply` of a file with timeouts, three sysctls and a sync daemon makes
/// the kernel show them; a second apply plans nothing; `--check` exits 0, then 1 after
/// `ipvsadm --set` changes a timeout; a refused later change (a daemon on an interface that is
/// not there, or an unknown scheduler) sets everything back; bad input changes nothing.
#[test]
fn apply_sets_timeouts_sysctls_and_a_daemon_and_undoes_them_on_a_refusal() {
    use serde_json::json;
    require_ipvs();
    let ns = NetNs::new();
    add_dummy(&ns, "sync0", &["192.168.80.1/24"]);
    let web = json!({"protocol": "tcp", "address": "10.3.0.1", "port": 80, "scheduler": "rr"});
    let doc = json!({
        "services": [web],
        "timeouts": {"tcp": 1000, "tcp_fin": 100, "udp": 200},
        "sysctls": {"expire_nodest_conn": 1, "expire_quiescent_template": 1, "sync_threshold": [4, 60]},
        "sync_daemons": [{"state": "master", "mcast_interface": "sync0", "sync_id": 9}]
    });
    let untouched = kernel_view(&ns);
    let (code, out, err) = apply(&ns, &["--dry-run"], &doc);
    assert_eq!(code, 0, "{out}{err}");
    for line in [
        "--set 1000 100 200",
        "/proc/sys/net/ipv4/vs/expire_nodest_conn = 1",
        "/proc/sys/net/ipv4/vs/expire_quiescent_template = 1",
        "/proc/sys/net/ipv4/vs/sync_threshold = 4 60",
        "--start-daemon master --mcast-interface sync0 --syncid 9",
    ] {
        assert!(out.lines().any(|l| l == line), "no {line:?} in\n{out}");
    }
    assert_eq!(kernel_view(&ns), untouched, "the dry run changed something");
    let (code, out, err) = apply(&ns, &["--dry-run", "--json"], &doc);
    assert_eq!(code, 0, "{out}{err}");
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(plan["changes"]
        .as_array()
        .unwrap()
        .contains(&json!({"op": "set_sysctl", "name": "sync_threshold", "value": [4, 60]})));

    let (code, out, err) = apply(&ns, &[], &doc);
    assert_eq!(code, 0, "{out}{err}");
    let (table, (timeouts, sysctls, daemons)) = kernel_view(&ns);
    assert_eq!(table, "-A -t 10.3.0.1:80 -s rr\n");
    assert_eq!(timeouts.trim(), "Timeout (tcp tcpfin udp): 1000 100 200");
    assert_eq!(sysctls["expire_nodest_conn"], SysctlValue::Int(1));
    assert_eq!(sysctls["expire_quiescent_template"], SysctlValue::Int(1));
    assert_eq!(sysctls["sync_threshold"], SysctlValue::Ints(vec![4, 60]));
    assert_eq!(sysctls["sloppy_tcp"], SysctlValue::Int(0));
    assert!(
        daemons.starts_with("master sync daemon (mcast=sync0, syncid=9"),
        "{daemons}"
    );
    let applied = kernel_view(&ns);

    // Nothing to do the second time; --check agrees, until another writer changes a timeout.
    let (code, out, _) = apply(&ns, &[], &doc);
    assert_eq!(
        (code, out.trim()),
        (0, "apply: no change: the table already matches")
    );
    let (code, out, _) = apply(&ns, &["--check"], &doc);
    assert_eq!((code, out.as_str()), (0, ""));
    ns.ipvsadm_ok(&["--set", "1500", "0", "0"]);
    let (code, out, _) = apply(&ns, &["--check"], &doc);
    assert_eq!((code, out.trim()), (1, "--set 1000 100 200"));
    let (code, out, err) = apply(&ns, &[], &doc);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(kernel_view(&ns), applied);

    // --prune with a document that names no setting leaves every setting as it is.
    let (code, out, err) = apply(&ns, &["--prune"], &json!({"services": []}));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(kernel_view(&ns).1, applied.1);
    let (code, out, err) = apply(&ns, &[], &doc);
    assert_eq!(code, 0, "{out}{err}");

    // A later change the kernel refuses at its last setting: the table's changes, the
    // timeouts and the sysctls made before it are undone, the old daemon runs again.
    let later = json!({
        "services": [web, {"protocol": "tcp", "address": "10.3.0.2", "port": 80}],
        "timeouts": {"tcp": 3000, "tcp_fin": 0, "udp": 0},
        "sysctls": {"expire_nodest_conn": 0, "sloppy_tcp": 1},
        "sync_daemons": [{"state": "master", "mcast_interface": "nosuch0", "sync_id": 9}]
    });
    let (code, out, err) = apply(&ns, &[], &later);
    assert_eq!(code, 255, "{out}{err}");
    assert!(
        err.contains("--start-daemon master --mcast-interface nosuch0 --syncid 9' failed"),
        "{err}"
    );
    assert_eq!(kernel_view(&ns), applied, "not set back: {err}");
    // Refused in the table (an unknown scheduler): no setting is touched.
    let mut refused = later.clone();
    refused["services"][1]["scheduler"] = json!("nosuch");
    refused["sync_daemons"][0]["mcast_interface"] = json!("sync0");
    let (code, out, err) = apply(&ns, &[], &refused);
    assert_eq!(code, 255, "{out}{err}");
    assert_eq!(kernel_view(&ns), applied, "not set back: {err}");

    // Bad input: a clear error naming it, exit 2, nothing changed.
    for (sysctls, says) in [
        (
            json!({"expire_nodest_con": 1}),
            "sysctls.expire_nodest_con: no such sysctl",
        ),
        (
            json!({"expire_nodest_conn": 2}),
            "sysctls.expire_nodest_conn: 2 is out of range",
        ),
        (
            json!({"sync_threshold": [60, 4]}),
            "sysctls.sync_threshold: [60, 4]",
        ),
        (json!({"conn_reuse_mode": 1.5}), "1.5"),
        (
            json!({"sloppy_tcp": "yes"}),
            "sysctls.sloppy_tcp: \"yes\" is text",
        ),
    ] {
        let mut bad = doc.clone();
        bad["sysctls"] = sysctls;
        let (code, out, err) = apply(&ns, &[], &bad);
        assert_eq!(code, 2, "{bad}: {out}{err}");
        assert!(err.contains(says), "{bad}: {err}");
        assert_eq!(kernel_view(&ns), applied);
    }
    let mut bad = doc.clone();
    bad["timeouts"]["tcp"] = json!(99999999);
    let (code, _, err) = apply(&ns, &[], &bad);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("timeouts.tcp"), "{err}");
    let mut bad = doc.clone();
    bad["sync_daemons"][0]["sync_id"] = json!(256);
    let (code, _, err) = apply(&ns, &[], &bad);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("sync_daemons[0]"), "{err}");
    assert_eq!(kernel_view(&ns), applied);
}
