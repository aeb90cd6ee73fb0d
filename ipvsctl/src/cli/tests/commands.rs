//! The other commands: deleting, clearing, zeroing, timeouts, sync daemons,
//! listings, `-S`, `-R`, help and version.

use ipvs::{Change, DaemonState, Family, ServiceKey, Timeouts};

use super::super::{Command, ListFlags, ListRequest, ListWhat};
use super::*;

#[test]
fn no_arguments_lists() {
    assert_eq!(cmd(""), Command::List(ListRequest::default()));
    let inv = ok("--json --netns blue");
    assert_eq!(inv.command, Command::List(ListRequest::default()));
    assert!(inv.json);
    assert_eq!(inv.netns.as_deref(), Some("blue"));
}

#[test]
fn delete_service() {
    assert_eq!(
        change("-D -t 1.2.3.4:80"),
        Change::DeleteService(tcp("1.2.3.4", 80))
    );
}

#[test]
fn delete_ipv6_fwmark_service() {
    assert_eq!(
        change("-D -f 6 -6"),
        Change::DeleteService(ServiceKey::fwmark(6, Family::Inet6))
    );
}

#[test]
fn delete_server() {
    assert_eq!(
        change("-d -t 1.2.3.4:80 -r 10.0.0.1"),
        Change::DeleteDestination {
            service: tcp("1.2.3.4", 80),
            addr: ip("10.0.0.1"),
            port: 80
        }
    );
}

#[test]
fn delete_server_keeps_the_given_port() {
    // Even for direct routing.
    assert!(matches!(
        change("-d -t 1.2.3.4:80 -r 10.0.0.1:99"),
        Change::DeleteDestination { port: 99, .. }
    ));
}

#[test]
fn clear() {
    for line in ["-C", "--clear"] {
        assert_eq!(change(line), Change::Flush, "{line:?}");
    }
}

#[test]
fn zero_everything() {
    assert_eq!(change("-Z"), Change::Zero(None));
}

#[test]
fn zero_one_service() {
    assert_eq!(
        change("-Z -t 1.2.3.4:80"),
        Change::Zero(Some(tcp("1.2.3.4", 80)))
    );
}

#[test]
fn zero_of_the_unspecified_service_zeroes_everything() {
    // libipvs sends no service for 0.0.0.0:0: every service is zeroed.
    assert_eq!(change("-Z -t 0.0.0.0:0"), Change::Zero(None));
}

#[test]
fn set_timeouts() {
    assert_eq!(
        change("--set 900 120 300"),
        Change::SetTimeouts(Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300
        })
    );
}

#[test]
fn set_timeouts_of_zero_keep_them() {
    assert_eq!(
        change("--set 0 0 0"),
        Change::SetTimeouts(Timeouts::default())
    );
}

#[test]
fn start_daemon_with_the_required_settings() {
    match change("--start-daemon master --mcast-interface sync0 --syncid 5") {
        Change::StartDaemon(d) => {
            assert_eq!(d.state, DaemonState::Master);
            assert_eq!(d.mcast_interface, "sync0");
            assert_eq!(d.sync_id, 5);
            assert_eq!(
                (d.sync_maxlen, d.mcast_group, d.mcast_port),
                (None, None, None)
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn start_daemon_with_every_setting() {
    match change(
        "--start-daemon backup --syncid 6 --sync-maxlen 1200 --mcast-group 224.0.0.81 \
         --mcast-port 8849 --mcast-ttl 2",
    ) {
        Change::StartDaemon(d) => {
            assert_eq!(d.state, DaemonState::Backup);
            assert_eq!(d.mcast_interface, "eth0");
            assert_eq!(d.sync_maxlen, Some(1200));
            assert_eq!(d.mcast_group, Some(ip("224.0.0.81")));
            assert_eq!((d.mcast_port, d.mcast_ttl), (Some(8849), Some(2)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn stop_daemon() {
    for (line, state) in [
        ("--stop-daemon backup", DaemonState::Backup),
        ("--stop-daemon master --syncid 5", DaemonState::Master),
    ] {
        assert_eq!(change(line), Change::StopDaemon(state), "{line:?}");
    }
}

#[test]
fn list_spellings() {
    for line in ["-L", "-l", "--list"] {
        assert_eq!(list(line), ListRequest::default(), "{line:?}");
    }
}

#[test]
fn list_numeric() {
    assert!(list("-Ln").flags.numeric);
}

#[test]
fn list_flags() {
    let r = list("-L -n --stats --rate --exact --nosort --sort");
    assert_eq!(
        r.flags,
        ListFlags {
            numeric: true,
            exact: true,
            nosort: true,
            stats: true,
            rate: true,
            ..ListFlags::default()
        }
    );
}

#[test]
fn list_tun_info() {
    assert!(list("-L --tun-info").flags.tun_info);
}

#[test]
fn list_connections_with_persistence() {
    assert!(list("-L -c --persistent-conn").flags.persistent_conn);
}

#[test]
fn what_a_listing_shows() {
    for (line, what) in [
        ("-Lnc", ListWhat::Connections),
        ("-L -t 1.2.3.4:80", ListWhat::Service(tcp("1.2.3.4", 80))),
        ("-L --timeout", ListWhat::Timeouts),
        ("-L --daemon", ListWhat::Daemons),
        ("-L --thresholds --syncid 3", ListWhat::All),
        (
            "-L -f 6 -6",
            ListWhat::Service(ServiceKey::fwmark(6, Family::Inet6)),
        ),
    ] {
        assert_eq!(list(line).what, what, "{line:?}");
    }
}

#[test]
fn save_and_restore() {
    for (line, command) in [
        ("-S", Command::Save { numeric: false }),
        ("-S -n", Command::Save { numeric: true }),
        ("-Sn", Command::Save { numeric: true }),
        ("-R", Command::Restore),
    ] {
        assert_eq!(cmd(line), command, "{line:?}");
    }
}

#[test]
fn help_version_and_generators() {
    for (line, command) in [
        ("-h", Command::Usage),
        ("--help", Command::Help),
        ("--help -L", Command::Help),
        ("-v", Command::Version),
        ("--version", Command::Version),
        ("--generate-man", Command::GenerateMan),
        (
            "--generate-completions zsh",
            Command::GenerateCompletions("zsh".into()),
        ),
    ] {
        assert_eq!(cmd(line), command, "{line:?}");
    }
}

#[test]
fn help_after_the_command_is_an_invalid_option() {
    usage("-L -h", "invalid option `-h'");
}
