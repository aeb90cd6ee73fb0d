//! ipvsadm's messages and exit codes for mistakes: popt's, the option
//! rules', and each value's; and no input panics.

use ipvs::Change;

use super::super::{parse, Context};
use super::*;

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
