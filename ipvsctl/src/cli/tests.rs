//! Parser tests: what each command line becomes, and ipvsadm's message and
//! exit code for each mistake (checked against ipvsadm 1.31 on Debian 12).

use std::net::IpAddr;

use ipvs::{
    Change, DaemonState, Destination, Family, Forward, Netmask, Protocol, Scheduler, Service,
    ServiceFlags, ServiceKey, Timeouts, TunnelFlags, TunnelType,
};

use super::{parse, Command, Context, Failure, Invocation, ListFlags, ListRequest, ListWhat};

fn args(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

fn ok(line: &str) -> Invocation {
    parse("ipvsctl", &args(line), Context::CommandLine)
        .unwrap_or_else(|f| panic!("{line:?}: {}", f.message))
}

fn cmd(line: &str) -> Command {
    ok(line).command
}

fn change(line: &str) -> Change {
    match cmd(line) {
        Command::Change(c) => c,
        other => panic!("{line:?} gave {other:?}"),
    }
}

fn fail(line: &str) -> Failure {
    match parse("ipvsctl", &args(line), Context::CommandLine) {
        Ok(inv) => panic!("{line:?} parsed: {inv:?}"),
        Err(f) => f,
    }
}

/// `line` fails with exit 2 and exactly `message`.
fn usage(line: &str, message: &str) {
    let f = fail(line);
    assert_eq!((f.code, f.message.as_str()), (2, message), "{line:?}");
}

/// `line` fails with exit 255 and exactly `message`.
fn popt(line: &str, message: &str) {
    let f = fail(line);
    assert_eq!((f.code, f.message.as_str()), (255, message), "{line:?}");
}

const TRY: &str = "Try `ipvsctl -h' or 'ipvsctl --help' for more information.";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn tcp(a: &str, port: u16) -> ServiceKey {
    ServiceKey::tcp(ip(a), port)
}

fn service(c: Change) -> Service {
    match c {
        Change::AddService(s) | Change::EditService(s) => s,
        other => panic!("not a service: {other:?}"),
    }
}

fn dest(c: Change) -> (ServiceKey, Destination) {
    match c {
        Change::AddDestination {
            service,
            destination,
        }
        | Change::EditDestination {
            service,
            destination,
        } => (service, destination),
        other => panic!("not a destination: {other:?}"),
    }
}

fn list(line: &str) -> ListRequest {
    match cmd(line) {
        Command::List(r) => r,
        other => panic!("{line:?} gave {other:?}"),
    }
}

#[test]
fn no_arguments_lists() {
    assert_eq!(cmd(""), Command::List(ListRequest::default()));
    let inv = ok("--json --netns blue");
    assert_eq!(inv.command, Command::List(ListRequest::default()));
    assert!(inv.json);
    assert_eq!(inv.netns.as_deref(), Some("blue"));
}

#[test]
fn add_service_defaults() {
    let s = service(change("-A -t 10.1.1.1:80"));
    assert_eq!(s, Service::new(tcp("10.1.1.1", 80)));
    assert_eq!(s.scheduler, Scheduler::WeightedLeastConnection);
    assert_eq!(s.netmask, Netmask::V4("255.255.255.255".parse().unwrap()));
}

#[test]
fn add_service_with_everything() {
    let s = service(change(
        "-A -t 10.1.1.3:80 -s rr -p 100 -M 255.255.255.0 --pe sip",
    ));
    assert_eq!(s.scheduler, Scheduler::RoundRobin);
    assert!(s.is_persistent());
    assert_eq!(s.timeout, 100);
    assert_eq!(s.netmask, Netmask::V4("255.255.255.0".parse().unwrap()));
    assert_eq!(s.persistence_engine.as_deref(), Some("sip"));

    let s = service(change("-A -u 10.1.1.4:53 -s rr -o"));
    assert_eq!(s.key, ServiceKey::udp(ip("10.1.1.4"), 53));
    assert_eq!(s.flags, ServiceFlags::ONEPACKET);

    let s = service(change(
        "-A --sctp-service 10.1.1.2:5000 -s sh -b sh-fallback,sh-port",
    ));
    assert_eq!(s.key, ServiceKey::sctp(ip("10.1.1.2"), 5000));
    assert_eq!(s.flags, ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT);
}

#[test]
fn persistence_value_is_optional() {
    assert_eq!(service(change("-A -t 1.2.3.4:80 -p")).timeout, 360);
    assert_eq!(service(change("-A -t 1.2.3.4:80 -p -s rr")).timeout, 360);
    assert_eq!(service(change("-A -t 1.2.3.4:80 -p 600")).timeout, 600);
    assert_eq!(service(change("-A -t 1.2.3.4:80 -p600")).timeout, 600);
    assert_eq!(
        service(change("-A -t 1.2.3.4:80 --persistent=7")).timeout,
        7
    );
    assert_eq!(
        service(change("-A -t 1.2.3.4:80 -p 2678400")).timeout,
        2678400
    );
    // A zero port is fine once persistent.
    let s = service(change("-A -u 1.2.3.4:0 -p"));
    assert_eq!(s.key, ServiceKey::udp(ip("1.2.3.4"), 0));
}

#[test]
fn ipv6_services() {
    let s = service(change(
        "-A -t [2001:db8::1]:443 -s mh -b mh-port -p 300 -M 64",
    ));
    assert_eq!(s.key, tcp("2001:db8::1", 443));
    assert_eq!(s.netmask, Netmask::V6(64));
    assert_eq!(s.flags, ServiceFlags::PERSISTENT | ServiceFlags::MH_PORT);
    // A bare IPv6 address has no port.
    let s = service(change("-A -t 2001:db8::5 -p"));
    assert_eq!(s.key, tcp("2001:db8::5", 0));
    assert_eq!(s.netmask, Netmask::V6(128));
    // -M before -t is read as IPv4, then -t [v6] resets it to 128.
    let s = service(change("-A -M 255.255.255.0 -t [::1]:80 -p"));
    assert_eq!(s.netmask, Netmask::V6(128));
}

#[test]
fn fwmark_services() {
    let s = service(change("-A -f 7 -s wrr"));
    assert_eq!(s.key, ServiceKey::fwmark(7, Family::Inet));
    let s = service(change("-A -f 8 -6 -s lc -p 120"));
    assert_eq!(s.key, ServiceKey::fwmark(8, Family::Inet6));
    assert_eq!(s.netmask, Netmask::V6(128));
    let s = service(change("-A -f 9 -6 -M 48"));
    assert_eq!(s.netmask, Netmask::V6(48));
    // A fwmark service needs no port and takes -o.
    let s = service(change("-A -f 10 -o"));
    assert_eq!(s.flags, ServiceFlags::ONEPACKET);
    assert_eq!(
        service(change("-A -f 4294967295")).key,
        ServiceKey::fwmark(u32::MAX, Family::Inet)
    );
}

#[test]
fn addresses_as_inet_aton_reads_them() {
    assert_eq!(
        service(change("-A -t 010.0.0.1:80")).key,
        tcp("8.0.0.1", 80)
    );
    assert_eq!(service(change("-A -t 0x7f.1:83")).key, tcp("127.0.0.1", 83));
    assert_eq!(service(change("-A -t 1.2.3:82")).key, tcp("1.2.0.3", 82));
    assert_eq!(service(change("-A -t 1.2.3.4:+81")).key, tcp("1.2.3.4", 81));
    // "[v4]:port" loses its port, as in ipvsadm.
    usage(
        "-A -t [1.2.3.22]:80",
        "Zero port specified for non-persistent service",
    );
}

#[test]
fn names_are_resolved() {
    assert_eq!(
        service(change("-A -t localhost:80")).key,
        tcp("127.0.0.1", 80)
    );
    if std::path::Path::new("/etc/services").exists() {
        assert_eq!(
            service(change("-A -t 1.2.3.4:http")).key,
            tcp("1.2.3.4", 80)
        );
        assert_eq!(
            service(change("-A -u 1.2.3.4:domain")).key,
            ServiceKey::udp(ip("1.2.3.4"), 53)
        );
        // -r before -t knows no protocol, so no port names.
        usage(
            "-a -r 10.9.9.9:http -t 1.2.3.4:80 -m",
            "illegal real server address[:port] specified",
        );
        let (_, d) = dest(change("-a -t 1.2.3.4:80 -r 10.9.9.10:http -m"));
        assert_eq!(d.port, 80);
    }
    // A netmask may be a host name too.
    let s = service(change("-A -t 1.2.3.4:80 -M localhost"));
    assert_eq!(s.netmask, Netmask::V4("127.0.0.1".parse().unwrap()));
}

#[test]
fn destinations() {
    let (k, d) = dest(change(
        "-a -t 10.1.1.1:80 -r 10.2.2.2:8080 -m -w 3 -x 100 -y 10",
    ));
    assert_eq!(k, tcp("10.1.1.1", 80));
    assert_eq!(d.addr, ip("10.2.2.2"));
    assert_eq!(d.port, 8080);
    assert_eq!(d.forward, Forward::Masquerade);
    assert_eq!(
        (d.weight, d.upper_threshold, d.lower_threshold),
        (3, 100, 10)
    );

    // Defaults: direct routing, weight 1, the service's port.
    let (_, d) = dest(change("-a -t 10.1.1.1:80 -r 10.2.2.3"));
    assert_eq!(d, Destination::new(ip("10.2.2.3"), 80));
    // -g and -i force the service's port on address services...
    let (_, d) = dest(change("-a -t 10.1.1.1:80 -r 10.2.2.3:99 -g"));
    assert_eq!(d.port, 80);
    // ...but not on fwmark services.
    let (k, d) = dest(change("-a -f 7 -r 10.2.2.7:99"));
    assert_eq!(k, ServiceKey::fwmark(7, Family::Inet));
    assert_eq!(d.port, 99);
    // -r before -t takes the service port as it was then (0).
    let (_, d) = dest(change("-a -r 10.0.0.3 -t 1.2.3.4:80 -m"));
    assert_eq!(d.port, 0);

    let (_, d) = dest(change(
        "-e -t [2001:db8::1]:443 -r [2001:db8::10]:443 -m -w 0",
    ));
    assert_eq!((d.addr, d.weight), (ip("2001:db8::10"), 0));
    assert_eq!(
        dest(change("-a -t 1.2.3.4:80 -r 10.0.0.1 -w 2147483647"))
            .1
            .weight,
        2147483647
    );
}

#[test]
fn tunnels() {
    let (_, d) = dest(change("-a -t 10.1.1.1:80 -r 10.2.2.6 -i"));
    assert_eq!(d.forward, Forward::ipip());
    let (_, d) = dest(change(
        "-a -t 10.1.1.1:80 -r 10.2.2.4 -i --tun-type gue --tun-port 6080 --tun-csum",
    ));
    assert_eq!(
        d.forward,
        Forward::Tunnel {
            kind: TunnelType::Gue,
            port: 6080,
            flags: TunnelFlags::CSUM
        }
    );
    let (_, d) = dest(change(
        "-a -t 10.1.1.1:80 -r 10.2.2.5 -i --tun-type gre --tun-nocsum",
    ));
    assert_eq!(
        d.forward,
        Forward::Tunnel {
            kind: TunnelType::Gre,
            port: 0,
            flags: TunnelFlags::empty()
        }
    );
    let (_, d) = dest(change(
        "-a -t 1.1.1.1:80 -r 10.0.0.1 -i --tun-type gue --tun-port 1 --tun-remcsum",
    ));
    assert!(matches!(d.forward, Forward::Tunnel { flags, .. } if flags == TunnelFlags::REMCSUM));
    // Tunnelling allows another address family.
    let (_, d) = dest(change("-a -t 1.2.3.4:80 -r 2001:db8::1 -i"));
    assert_eq!(d.addr, ip("2001:db8::1"));
}

#[test]
fn delete_zero_flush() {
    assert_eq!(
        change("-D -t 1.2.3.4:80"),
        Change::DeleteService(tcp("1.2.3.4", 80))
    );
    assert_eq!(
        change("-d -t 1.2.3.4:80 -r 10.0.0.1"),
        Change::DeleteDestination {
            service: tcp("1.2.3.4", 80),
            addr: ip("10.0.0.1"),
            port: 80
        }
    );
    // -d keeps the given port even for direct routing.
    assert!(matches!(
        change("-d -t 1.2.3.4:80 -r 10.0.0.1:99"),
        Change::DeleteDestination { port: 99, .. }
    ));
    assert_eq!(change("-C"), Change::Flush);
    assert_eq!(change("--clear"), Change::Flush);
    assert_eq!(change("-Z"), Change::Zero(None));
    assert_eq!(
        change("-Z -t 1.2.3.4:80"),
        Change::Zero(Some(tcp("1.2.3.4", 80)))
    );
    // libipvs sends no service for 0.0.0.0:0: every service is zeroed.
    assert_eq!(change("-Z -t 0.0.0.0:0"), Change::Zero(None));
    assert_eq!(
        change("-D -f 6 -6"),
        Change::DeleteService(ServiceKey::fwmark(6, Family::Inet6))
    );
}

#[test]
fn timeouts_and_daemons() {
    assert_eq!(
        change("--set 900 120 300"),
        Change::SetTimeouts(Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300
        })
    );
    assert_eq!(
        change("--set 0 0 0"),
        Change::SetTimeouts(Timeouts::default())
    );
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
    assert_eq!(
        change("--stop-daemon backup"),
        Change::StopDaemon(DaemonState::Backup)
    );
    assert_eq!(
        change("--stop-daemon master --syncid 5"),
        Change::StopDaemon(DaemonState::Master)
    );
}

#[test]
fn listings() {
    assert_eq!(list("-L"), ListRequest::default());
    assert_eq!(list("-l"), ListRequest::default());
    assert_eq!(list("--list"), ListRequest::default());
    let r = list("-Ln");
    assert!(r.flags.numeric);
    assert_eq!(list("-Lnc").what, ListWhat::Connections);
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
    assert_eq!(
        list("-L -t 1.2.3.4:80").what,
        ListWhat::Service(tcp("1.2.3.4", 80))
    );
    assert_eq!(list("-L --timeout").what, ListWhat::Timeouts);
    assert_eq!(list("-L --daemon").what, ListWhat::Daemons);
    assert!(list("-L --tun-info").flags.tun_info);
    assert!(list("-L -c --persistent-conn").flags.persistent_conn);
    assert_eq!(list("-L --thresholds --syncid 3").what, ListWhat::All);
    assert_eq!(
        list("-L -f 6 -6").what,
        ListWhat::Service(ServiceKey::fwmark(6, Family::Inet6))
    );
    assert_eq!(cmd("-S"), Command::Save { numeric: false });
    assert_eq!(cmd("-S -n"), Command::Save { numeric: true });
    assert_eq!(cmd("-Sn"), Command::Save { numeric: true });
    assert_eq!(cmd("-R"), Command::Restore);
}

#[test]
fn globals_go_anywhere() {
    let inv = ok("--json -Ln");
    assert!(inv.json && matches!(inv.command, Command::List(_)));
    let inv = ok("-S --netns=/proc/1/ns/net --json");
    assert_eq!(inv.netns.as_deref(), Some("/proc/1/ns/net"));
    assert!(ok("-R --json").json);
    usage(
        "-A -t 1.2.3.4:80 --json",
        "Illegal 'json' option with the 'add-service' command",
    );
    usage(
        "--json -C",
        "Illegal 'json' option with the 'flush' command",
    );
    usage(
        "--netns a --netns b -L",
        "multiple 'netns' options specified",
    );
    let inv = ok("--netns blue -A -t 1.2.3.4:80");
    assert_eq!(inv.netns.as_deref(), Some("blue"));
}

#[test]
fn help_version_and_generators() {
    assert_eq!(cmd("-h"), Command::Usage);
    assert_eq!(cmd("--help"), Command::Help);
    assert_eq!(cmd("--help -L"), Command::Help);
    assert_eq!(cmd("-v"), Command::Version);
    assert_eq!(cmd("--version"), Command::Version);
    assert_eq!(cmd("--generate-man"), Command::GenerateMan);
    assert_eq!(
        cmd("--generate-completions zsh"),
        Command::GenerateCompletions("zsh".into())
    );
    usage("-L -h", "invalid option `-h'");
}

#[test]
fn popt_errors() {
    popt("--bogus", TRY);
    popt("-nL", TRY);
    popt("foo", TRY);
    popt("-6 -A -t 1.2.3.17:80", TRY);
    popt("-M 0 -L", TRY);
    popt("--list=foo", TRY);
    popt("-L=", TRY);
    popt("--start-daemon", TRY);
    popt("-A --bogus", "--bogus: unknown option");
    popt("-A -t", "-t: missing argument");
    popt("-At", "-At: missing argument");
    popt("-lnx", "-lnx: missing argument");
    popt("-A -t 1.2.3.4:80 -s", "-s: missing argument");
    popt("-A -t 1.2.3.15:80 -p -100", "-100: unknown option");
    popt(
        "-L --numeric=5",
        "--numeric=5: option does not take an argument",
    );
    popt(
        "-L --stats=5",
        "--stats=5: option does not take an argument",
    );
    popt("-L -n=5", "-n=5: option does not take an argument");
    popt("-Ln=5", "-Ln=5: option does not take an argument");
    // The program name is argv[0], as given.
    let f = parse("./ipvsadm", &args("-Q"), Context::CommandLine).unwrap_err();
    assert_eq!(
        f.message,
        "Try `./ipvsadm -h' or './ipvsadm --help' for more information."
    );
}

#[test]
fn option_rules() {
    usage(
        "-A",
        "You need to supply the 'service-address' option for the 'add-service' command",
    );
    usage(
        "-a -t 1.2.3.4:80",
        "You need to supply the 'real-server' option for the 'add-server' command",
    );
    usage("-L -w 5", "Illegal 'weight' option with the 'list' command");
    usage(
        "-L -p",
        "Illegal 'persistent' option with the 'list' command",
    );
    usage(
        "-L -n -p 5",
        "Illegal 'persistent' option with the 'list' command",
    );
    usage(
        "-S -t 1.2.3.4:80",
        "Illegal 'service-address' option with the 'save' command",
    );
    usage(
        "-R -n",
        "Illegal 'numeric' option with the 'restore' command",
    );
    usage(
        "-A -t 1.2.3.4:80 -x 5",
        "Illegal 'u-threshold' option with the 'add-service' command",
    );
    usage(
        "-A -t 1.2.3.4:80 -r 1.2.3.5",
        "Illegal 'real-server' option with the 'add-service' command",
    );
    usage(
        "-D -t 1.2.3.4:80 -s rr",
        "Illegal 'scheduler' option with the 'delete-service' command",
    );
    usage(
        "-d -t 1.2.3.4:80 -r 10.0.0.3 -m",
        "Illegal 'forwarding-method' option with the 'delete-server' command",
    );
    usage(
        "--stop-daemon master --mcast-interface foo",
        "Illegal 'mcast-interface' option with the 'stop-daemon' command",
    );
    usage(
        "-L -c --timeout",
        "The option 'timeout' conflicts with the 'connection' option in the 'list' command",
    );
    usage(
        "-L -t 1.2.3.4:80 --daemon",
        "The option 'daemon' conflicts with the 'service-address' option in the 'list' command",
    );
    usage("-L -c --stats", "options conflicts in the list command");
    usage(
        "-L --timeout --persistent-conn",
        "options conflicts in the list command",
    );
    usage(
        "-A -t 1.2.3.4:80 -t 1.2.3.5:80",
        "multiple 'service-address' options specified",
    );
    usage(
        "-A -t 1.2.3.4:80 -f 5",
        "multiple 'service-address' options specified",
    );
    usage(
        "-A -t 1.2.3.8:80 -s rr -s wrr",
        "multiple 'scheduler' options specified",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.0.0.1 -i -m",
        "multiple 'forwarding-method' options specified",
    );
    usage(
        "-L --nosort --nosort",
        "multiple 'nosort' options specified",
    );
    usage(
        "-A -t 1.2.3.10:80 -b flag-1 -b flag-2",
        "multiple 'sched-flags' options specified",
    );
    usage(
        "-A -t 1.2.3.13:80 -p 5 -p 6",
        "multiple 'persistent' options specified",
    );
    // Commands after the first option are not commands.
    usage("-L -A", "invalid option `-A'");
    usage("-LA", "invalid option `-LA'");
    usage("--set 1 2 3 -L", "invalid option `-L'");
    usage("-L --start-daemon master", "invalid option `master'");
    // --sort and -6 may appear with any command, as often as wanted.
    assert_eq!(change("-C --sort --sort"), Change::Flush);
    assert!(matches!(change("-A -f 6 -6 -6"), Change::AddService(_)));
}

#[test]
fn value_errors() {
    usage(
        "-A -t -s rr",
        "illegal virtual server address[:port] specified",
    );
    for bad in [
        "80",
        "1.2.3.4:",
        "1.2.3.4:65536",
        "[2001:db8::6]",
        "::ffff:1.2.3.4:80",
        "1.2.3.4.5:84",
        "256.1.1.1:85",
        "09.1.1.1:88",
        "1.2.3.4:0x50",
        "1.2.3.4:nosuchport",
    ] {
        usage(
            &format!("-A -t {bad}"),
            "illegal virtual server address[:port] specified",
        );
    }
    usage(
        "-a -t 1.2.3.4:80 -r [2001:db8::1] -i",
        "illegal real server address[:port] specified",
    );
    usage("-A -f 0", "invalid fwmark value `0' specified");
    usage(
        "-A -f 4294967296",
        "invalid fwmark value `4294967296' specified",
    );
    usage("-A -f -1", "invalid fwmark value `-1' specified");
    usage("-A -f 5x", "invalid fwmark value `5x' specified");
    usage(
        "-A -t 1.2.3.15:80 -p foo",
        "invalid timeout value `foo' specified",
    );
    usage(
        "-A -t 1.2.3.15:80 -p 0",
        "invalid timeout value `0' specified",
    );
    usage(
        "-A -t 1.2.3.21:80 -p 2678401",
        "invalid timeout value `2678401' specified",
    );
    usage(
        "-A -t 1.2.3.4:80 -M 1.2.3.4.5",
        "illegal virtual server persistent mask specified",
    );
    usage("-A -f 1 -6 -M 200", "illegal ipv6 netmask specified");
    usage("-A -t [::1]:80 -M abc", "illegal ipv6 netmask specified");
    usage("-A -t 1.2.3.8:80 -M 64 -6", "-6 used before -f\n");
    usage("-L -6", "-6 used before -f\n");
    usage(
        "-a -t 1.2.3.4:80 -r 10.1.1.1 -w -1",
        "illegal weight specified",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.1.1.1 -w 2147483648",
        "illegal weight specified",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.1.1.1 -w 0x5",
        "illegal weight specified",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.1.1.1 -x abc",
        "illegal u_threshold specified",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.1.1.1 -y 2147483648",
        "illegal l_threshold specified",
    );
    usage("--set 1 2", "--set option requires 3 timeout values");
    usage("--set 1 2 x", "invalid timeout value `x' specified");
    usage(
        "--set 2678401 0 0",
        "invalid timeout value `2678401' specified",
    );
    usage("--set 1 2 3 4", "unexpected argument 4");
    usage("-A -t 1.2.3.16:80 extra", "unexpected argument extra");
    usage("foo -L", "unexpected argument foo");
    usage("-L -- -n", "unexpected argument -n");
    usage(
        "--start-daemon foo",
        "illegal start-daemon parameter specified",
    );
    usage("--stop-daemon foo", "illegal start_daemon specified");
    usage(
        "--start-daemon master --syncid 300",
        "illegal syncid specified",
    );
    usage(
        "--start-daemon master --mcast-group 1.2.3.4",
        "invalid IPv4 mcast-group `1.2.3.4'",
    );
    usage(
        "--start-daemon master --mcast-group zz::",
        "invalid IPv6 mcast-group `zz::'",
    );
    usage(
        "--start-daemon backup --mcast-port 0",
        "illegal mcast-port specified",
    );
    usage(
        "--start-daemon master --mcast-ttl 256",
        "illegal mcast-ttl specified",
    );
    usage(
        "--start-daemon backup --sync-maxlen 65508",
        "illegal sync-maxlen specified",
    );
}

#[test]
fn service_rules() {
    usage(
        "-A -t 1.2.3.18:0",
        "Zero port specified for non-persistent service",
    );
    usage(
        "-E -t 1.2.3.18",
        "Zero port specified for non-persistent service",
    );
    usage(
        "-A -t 1.2.3.19:80 -o",
        "One-Packet Scheduling is only for UDP virtual services",
    );
    usage(
        "-A -t 1.2.3.20:80 -b sh-port",
        "incompatible scheduler flag `sh-port'",
    );
    usage(
        "-A -t 1.2.3.20:80 -s sh -b mh-port",
        "incompatible scheduler flag `mh-port'",
    );
    usage("-A -t 1.2.3.20:80 -b foo", "invalid scheduler flag `foo'");
    usage(
        "-A -t 1.2.3.11:80 -s sh -b flag-1,sh-port,foo",
        "invalid scheduler flag `foo'",
    );
    usage("-A -t 1.2.3.4:80 -s sh -b ,", "invalid scheduler flag `,'");
    // -b is read after every option, so -s may follow it; empty parts are skipped.
    let s = service(change("-A -t 1.2.3.12:80 -b sh-port -s sh"));
    assert_eq!(s.flags, ServiceFlags::SH_PORT);
    let s = service(change("-A -t 1.2.3.41:80 -b flag-1,,flag-2"));
    assert_eq!(s.flags, ServiceFlags::SCHED1 | ServiceFlags::SCHED2);
    // -b "" sets nothing.
    let s = parse(
        "ipvsctl",
        &["-A", "-t", "1.2.3.7:80", "-b", ""].map(String::from),
        Context::CommandLine,
    )
    .unwrap();
    assert!(matches!(s.command, Command::Change(Change::AddService(s)) if s.flags.is_empty()));
    // Schedulers are not checked here: the kernel decides (new modules appear).
    assert_eq!(
        service(change("-A -t 1.2.3.5:80 -s twos")).scheduler,
        Scheduler::Other("twos".into())
    );
    // ipvsadm keeps 15 bytes of a scheduler name.
    assert_eq!(
        service(change("-A -t 1.2.3.5:80 -s abcdefghijklmnopqrstu"))
            .scheduler
            .name(),
        "abcdefghijklmno"
    );
}

#[test]
fn destination_rules() {
    usage(
        "-a -t 1.2.3.4:80 -r [::1]:80 -m",
        "Different address family is allowed only for tunneling servers",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.0.0.9 --tun-type gue",
        "Tunnel options conflict with forward method",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.0.0.9 -m --tun-csum",
        "Tunnel options conflict with forward method",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.0.0.9 -i --tun-type gue",
        "You need to supply the 'tun-port' option for the 'gue' tunnel type",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.0.0.9 -i --tun-type ipip --tun-port 5",
        "Illegal 'tun-port' option with the 'ipip' tunnel type",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.0.0.9 -i --tun-port 5",
        "Illegal 'tun-port' option with the 'ipip' tunnel type",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.0.0.9 -i --tun-type gue --tun-port 1 --tun-csum --tun-remcsum",
        "The option 'tun-remcsum' conflicts with the 'tun-csum' option in the 'gue' tunnel type",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.0.0.9 -i --tun-type gre --tun-remcsum",
        "Illegal 'tun-remcsum' option with the 'gre' tunnel type",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.0.0.9 -i --tun-type foo",
        "illegal tunnel type specified",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.0.1.1 -i --tun-type gue --tun-port 65536",
        "illegal tunnel port specified",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.0.1.1 -i --tun-type gue --tun-port 0",
        "illegal tunnel port specified",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.0.2.1 -i --tun-type gue --tun-port 1 --tun-nocsum --tun-nocsum",
        "multiple 'tun-nocsum' options specified",
    );
}

#[test]
fn restore_lines_refuse_globals() {
    let line = |l: &str| parse("ipvsctl", &args(l), Context::RestoreLine);
    assert!(line("-A -t 1.2.3.4:80").is_ok());
    assert_eq!(
        line("-L --json").unwrap_err().message,
        "--json: unknown option"
    );
    assert_eq!(line("--json -L").unwrap_err().message, TRY);
    assert_eq!(line("-R").unwrap_err().message, TRY);
    assert_eq!(line("").unwrap_err().message, TRY);
    assert_eq!(line("--generate-man").unwrap_err().message, TRY);
}

/// No input, however odd, panics the parser.
#[test]
fn never_panics() {
    let words = [
        "-A",
        "-a",
        "-L",
        "-R",
        "-t",
        "-u",
        "-f",
        "-r",
        "-p",
        "-M",
        "-6",
        "-w",
        "-b",
        "-s",
        "-i",
        "--tun-type",
        "--tun-port",
        "gue",
        "1.2.3.4:80",
        "[::1]:80",
        "[",
        "]:",
        "-",
        "--",
        "=",
        "-=",
        "--=",
        "é",
        "-é",
        "-pé",
        "--set",
        "0",
        "4294967296",
        "-Lnc",
        "sh-port,",
        ",",
        "",
        "--netns",
        "--json",
        "-6x",
        "\u{0}",
        "--mcast-group",
        "ff02::1",
        "--start-daemon",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..20_000 {
        let n = (seed % 7) as usize;
        let mut line = Vec::with_capacity(n);
        for _ in 0..n {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            line.push(words[(seed % words.len() as u64) as usize].to_string());
        }
        let _ = parse("ipvsctl", &line, Context::CommandLine);
        let _ = parse("ipvsctl", &line, Context::RestoreLine);
        seed = seed.wrapping_add(1);
    }
}

#[test]
fn protocol_and_family_of_keys() {
    match service(change("-A -u [2001:db8::9]:53")).key {
        ServiceKey::Addr { protocol, addr, .. } => {
            assert_eq!(protocol, Protocol::Udp);
            assert!(addr.is_ipv6());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn watch_and_count() {
    use super::Watch;
    use std::time::Duration;
    let inv = ok("-Ln --watch 2 --count 3 --json");
    assert_eq!(
        inv.watch,
        Some(Watch {
            interval: Duration::from_secs(2),
            count: Some(3)
        })
    );
    assert!(inv.json);
    assert!(matches!(inv.command, Command::List(_)));
    let inv = ok("--watch 0.5 -L -t 10.0.0.1:80");
    assert_eq!(
        inv.watch.map(|w| w.interval),
        Some(Duration::from_millis(500))
    );
    assert_eq!(inv.watch.and_then(|w| w.count), None);
    assert_eq!(
        ok("-L --timeout --watch 1").watch.map(|w| w.count),
        Some(None)
    );
    assert_eq!(ok("-Ln").watch, None);
    // No arguments but the watch: the default listing.
    assert!(matches!(ok("--watch 1").command, Command::List(_)));

    let interval = |v: &str| {
        format!("invalid --watch interval `{v}' specified (seconds, more than 0 and at most 86400)")
    };
    usage("-L --watch 0", &interval("0"));
    usage("-L --watch abc", &interval("abc"));
    usage("-L --watch -1", &interval("-1"));
    usage("-L --watch inf", &interval("inf"));
    usage("-L --watch 86401", &interval("86401"));
    let count =
        |v: &str| format!("invalid --count value `{v}' specified (a whole number, 1 or more)");
    usage("-L --watch 1 --count -1", &count("-1"));
    usage("-L --watch 1 --count 0", &count("0"));
    usage("-L --watch 1 --count x", &count("x"));
    usage("-L --count 3", "--count needs --watch");
    usage("-Z --watch 1", "--watch is only for listings (-L)");
    usage("-S --watch 1", "--watch is only for listings (-L)");
    usage(
        "-A -t 10.0.0.1:80 --watch 1",
        "--watch is only for listings (-L)",
    );
    usage("--watch 1 -v", "--watch is only for listings (-L)");
}
