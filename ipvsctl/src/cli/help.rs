//! A clap description of ipvsctl's options, built from [`OPTIONS`]: it renders
//! `--help`, the man page (clap_mangen) and shell completions (clap_complete).
//! Clap never parses arguments here; the popt-compatible parser does.

use clap::builder::PossibleValuesParser;
use clap::{Arg, ArgAction, Command};

use super::options::{ArgKind, OPTIONS};

const ABOUT: &str =
    "Administer Linux IPVS, the kernel's layer-4 load balancer: a drop-in for ipvsadm";

const LONG_ABOUT: &str = "\
Administer Linux IPVS (IP Virtual Server), the kernel's layer-4 load balancer.

ipvsctl is a drop-in replacement for ipvsadm 1.31: the same commands and options \
(long forms, combined short flags such as -Ln, an optional value for -p), the same \
output byte for byte, the same messages and exit codes. It adds JSON output (--json), \
running in another network namespace (--netns) and batched restores.";

const USAGE_FORMS: &str = "\
ipvsctl -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe engine] [-b sched-flags]
ipvsctl -D virtual-service
ipvsctl -C
ipvsctl -R [--json]
ipvsctl -S [-n] [--json [--settings]]
ipvsctl -a|e virtual-service -r server-address [options]
ipvsctl -d virtual-service -r server-address
ipvsctl -L|l [virtual-service] [options] [--json] [--watch seconds [--count n]]
ipvsctl -Z [virtual-service]
ipvsctl --set tcp tcpfin udp
ipvsctl --start-daemon {master|backup} [daemon-options]
ipvsctl --stop-daemon {master|backup}
ipvsctl apply -f file [--prune] [--dry-run] [--check] [--drain[=seconds]] [--json] [--netns name]
ipvsctl drain virtual-service -r server-address [--timeout seconds] [--keep] [--netns name]
ipvsctl conns [virtual-service] [-r server-address] [--client addr] [--state s] [--count] [--by keys] [--json]
ipvsctl exporter [--listen addr:port] [--netns name]... [--max-series n] [--rates] [--user name]
ipvsctl healthd -f file [--once] [--json] [--maintenance-dir dir] [--listen addr:port [--rates]] [--netns name]
ipvsctl top [--netns name] [--interval seconds] [virtual-service]";

const EXIT_STATUS: &str = "\
0 on success, 1 when a listing fails, 2 for a usage or validation error,
255 when the kernel refuses a change or an option is malformed.";

const EXAMPLES: &str = "\
ipvsctl -A -t 192.0.2.1:80 -s rr
ipvsctl -a -t 192.0.2.1:80 -r 10.0.0.2 -m
ipvsctl -Ln --stats
ipvsctl -Ln --json --watch 2 | jq -c '.services[].rates'
ipvsctl exporter --listen 127.0.0.1:9761 --user nobody   (docs/metrics.md)
ipvsctl top --interval 2 -t 192.0.2.1:80
ipvsctl -S -n --json > rules.json; ipvsctl -R --json < rules.json";

/// ipvsadm 1.31's usage text (`usage_exit`) after its version line, with `prog`
/// as the program name: what `-h` prints, so scripts that read it see the same text.
pub fn ipvsadm_usage(prog: &str) -> String {
    let forms = [
        "-A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags]",
        "-D virtual-service",
        "-C",
        "-R",
        "-S [-n]",
        "-a|e virtual-service -r server-address [options]",
        "-d virtual-service -r server-address",
        "-L|l [virtual-service] [options]",
        "-Z [virtual-service]",
        "--set tcp tcpfin udp",
        "--start-daemon {master|backup} [daemon-options]",
        "--stop-daemon {master|backup}",
        "-h",
    ];
    let mut out = String::from("Usage:\n");
    for f in forms {
        out.push_str(&format!("  {prog} {f}\n"));
    }
    out.push('\n');
    out.push_str(IPVSADM_USAGE_BODY);
    out
}

const IPVSADM_USAGE_BODY: &str = "\
Commands:
Either long or short options are allowed.
  --add-service     -A        add virtual service with options
  --edit-service    -E        edit virtual service with options
  --delete-service  -D        delete virtual service
  --clear           -C        clear the whole table
  --restore         -R        restore rules from stdin
  --save            -S        save rules to stdout
  --add-server      -a        add real server with options
  --edit-server     -e        edit real server with options
  --delete-server   -d        delete real server
  --list            -L|-l     list the table
  --zero            -Z        zero counters in a service or all services
  --set tcp tcpfin udp        set connection timeout values
  --start-daemon              start connection sync daemon
  --stop-daemon               stop connection sync daemon
  --help            -h        display this help message

virtual-service:
  --tcp-service|-t  service-address   service-address is host[:port]
  --udp-service|-u  service-address   service-address is host[:port]
  --sctp-service    service-address   service-address is host[:port]
  --fwmark-service|-f fwmark          fwmark is an integer greater than zero

Options:
  --ipv6         -6                   fwmark entry uses IPv6
  --scheduler    -s scheduler         one of rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh,
                                      the default scheduler is wlc.
  --pe            engine              alternate persistence engine may be sip,
                                      not set by default.
  --persistent   -p [timeout]         persistent service
  --netmask      -M netmask           persistent granularity mask
  --real-server  -r server-address    server-address is host (and port)
  --gatewaying   -g                   gatewaying (direct routing) (default)
  --ipip         -i                   ipip encapsulation (tunneling)
  --masquerading -m                   masquerading (NAT)
  --tun-type      type                one of ipip|gue|gre,
                                      the default tunnel type is ipip.
  --tun-port      port                tunnel destination port
  --tun-nocsum                        tunnel encapsulation without checksum
  --tun-csum                          tunnel encapsulation with checksum
  --tun-remcsum                       tunnel encapsulation with remote checksum
  --weight       -w weight            capacity of real server
  --u-threshold  -x uthreshold        upper threshold of connections
  --l-threshold  -y lthreshold        lower threshold of connections
  --connection   -c                   output of current IPVS connections
  --timeout                           output of timeout (tcp tcpfin udp)
  --daemon                            output of daemon information
  --stats                             output of statistics information
  --rate                              output of rate information
  --exact                             expand numbers (display exact values)
  --thresholds                        output of thresholds information
  --persistent-conn                   output of persistent connection info
  --tun-info                          output of tunnel information
  --nosort                            disable sorting output of service/server entries
  --sort                              does nothing, for backwards compatibility
  --ops          -o                   one-packet scheduling
  --numeric      -n                   numeric output of addresses and ports
  --sched-flags  -b flags             scheduler flags (comma-separated)
Daemon Options:
  --syncid sid                        syncid for connection sync (default=255)
  --sync-maxlen length                Max sync message length (default=1472)
  --mcast-interface interface         multicast interface for connection sync
  --mcast-group address               IPv4/IPv6 group (default=224.0.0.81)
  --mcast-port port                   UDP port (default=8848)
  --mcast-ttl ttl                     Multicast TTL (default=1)
";

fn indented(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

fn after_help() -> String {
    format!(
        "Usage forms:\n{}\nExit status: {}\n\nExamples:\n{}",
        indented(USAGE_FORMS),
        EXIT_STATUS.replace('\n', " "),
        indented(EXAMPLES)
    )
}

/// Text as roff: backslashes and dashes escaped, lines kept with `.nf`.
fn roff_section(title: &str, text: &str, keep_lines: bool) -> String {
    let body = text.replace('\\', "\\e").replace('-', "\\-");
    if keep_lines {
        format!(".SH \"{title}\"\n.nf\n{body}\n.fi\n")
    } else {
        format!(".SH \"{title}\"\n{body}\n")
    }
}

/// The clap command (name `ipvsctl`) of the ipvsadm-compatible options; the
/// program adds its subcommands (`apply`, `drain`) before rendering.
pub fn command() -> Command {
    let mut cmd = Command::new("ipvsctl")
        .version(env!("CARGO_PKG_VERSION"))
        .about(ABOUT)
        .long_about(LONG_ABOUT)
        .after_help(after_help())
        .override_usage(
            "ipvsctl COMMAND [OPTIONS]\n       ipvsctl              (no arguments: list the table)",
        )
        .disable_help_flag(true)
        .disable_version_flag(true);
    for o in OPTIONS {
        let mut arg = Arg::new(o.long)
            .long(o.long)
            .help(o.help)
            .help_heading(o.section.heading())
            .hide(o.hidden);
        if let Some(s) = o.short {
            arg = arg.short(s);
        }
        if !o.short_aliases.is_empty() {
            arg = arg.visible_short_aliases(o.short_aliases.iter().copied());
        }
        arg = match o.arg {
            ArgKind::None if o.value_names.is_empty() => arg.action(ArgAction::SetTrue),
            // A popt flag followed by plain arguments (`--set TCP TCPFIN UDP`).
            ArgKind::None => arg
                .action(ArgAction::Set)
                .num_args(o.value_names.len())
                .value_names(o.value_names.iter().copied()),
            ArgKind::Required => arg.value_names(o.value_names.iter().copied()).num_args(1),
            ArgKind::Optional => arg
                .value_names(o.value_names.iter().copied())
                .num_args(0..=1),
        };
        if !o.values.is_empty() {
            arg = arg
                .value_parser(PossibleValuesParser::new(o.values.iter().copied()))
                .hide_possible_values(true);
        }
        cmd = cmd.arg(arg);
    }
    cmd
}

/// `--help`: the help, plain text, one line per option.
pub fn help_text(mut cmd: Command) -> String {
    cmd.render_help().to_string()
}

/// `--generate-man`: the man page in roff.
pub fn man_page(cmd: Command) -> std::io::Result<Vec<u8>> {
    // Section 8, as ipvsadm's; one page: apply, drain and top are described in it (clap_mangen's
    // subcommand section would point to ipvsctl-apply(1) pages that nobody installs).
    let subs: Vec<Command> = cmd.get_subcommands().cloned().collect();
    let man = clap_mangen::Man::new(cmd).section("8");
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    out.extend(b".SH \"SUBCOMMANDS: APPLY, DRAIN AND TOP\"\n");
    for sub in subs {
        out.extend(subcommand_part(sub)?);
    }
    let extra = [
        roff_section("USAGE FORMS", USAGE_FORMS, true),
        roff_section("EXIT STATUS", EXIT_STATUS, false),
        roff_section("EXAMPLES", EXAMPLES, true),
        roff_section("SEE ALSO", "ipvsadm(8), ip-netns(8)", false),
    ];
    out.extend(extra.concat().into_bytes());
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// A subcommand's part of the man page: its synopsis, description and options under a
/// `.SS "ipvsctl NAME"` heading.
fn subcommand_part(sub: Command) -> std::io::Result<Vec<u8>> {
    let name = sub.get_name().to_string();
    let man = clap_mangen::Man::new(sub.bin_name(format!("ipvsctl {name}")));
    let mut part = Vec::new();
    man.render_synopsis_section(&mut part)?;
    man.render_description_section(&mut part)?;
    man.render_options_section(&mut part)?;
    let text = String::from_utf8_lossy(&part)
        .replace(".SH SYNOPSIS\n", &format!(".SS \"ipvsctl {name}\"\n"))
        .replace(".SH DESCRIPTION\n", ".PP\n")
        .replace(".SH OPTIONS\n", ".PP\nOptions:\n");
    Ok(text.into_bytes())
}

/// `--generate-completions SHELL`, or `None` for an unknown shell.
pub fn completions(mut cmd: Command, shell: &str) -> Option<Vec<u8>> {
    let shell: clap_complete::Shell = shell.parse().ok()?;
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "ipvsctl", &mut out);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every option the parser knows is in the clap command and the other
    /// way round, with the same spellings: help, man page and completions
    /// cannot drift from what ipvsctl accepts.
    #[test]
    fn clap_and_parser_agree() {
        let cmd = command();
        let mut from_clap: Vec<(Option<String>, Vec<char>)> = cmd
            .get_arguments()
            .map(|a| {
                let mut shorts: Vec<char> = a.get_short().into_iter().collect();
                shorts.extend(a.get_visible_short_aliases().unwrap_or_default());
                (a.get_long().map(str::to_string), shorts)
            })
            .collect();
        let mut from_table: Vec<(Option<String>, Vec<char>)> = OPTIONS
            .iter()
            .map(|o| {
                let mut shorts: Vec<char> = o.short.into_iter().collect();
                shorts.extend(o.short_aliases);
                (Some(o.long.to_string()), shorts)
            })
            .collect();
        from_clap.sort();
        from_table.sort();
        assert_eq!(from_clap, from_table);
        for (a, o) in cmd.get_arguments().zip(OPTIONS) {
            // --set is a popt flag whose three values are plain arguments.
            let takes_value = o.arg != ArgKind::None || !o.value_names.is_empty();
            assert_eq!(a.get_action().takes_values(), takes_value, "{:?}", o.long);
        }
    }

    #[test]
    fn clap_command_is_valid() {
        command().debug_assert();
    }

    #[test]
    fn help_mentions_every_visible_option() {
        let h = help_text(command());
        for o in OPTIONS.iter().filter(|o| !o.hidden) {
            let l = o.long;
            assert!(h.contains(&format!("--{l}")), "--{l} missing from help");
        }
        assert!(!h.contains("--generate-man"));
    }

    #[test]
    fn man_page_and_completions_render() {
        let man = String::from_utf8(man_page(command()).unwrap()).unwrap();
        assert!(man.contains(".TH ipvsctl"));
        assert!(man.contains("tcp\\-service"));
        for sh in ["bash", "zsh", "fish"] {
            let c = String::from_utf8(completions(command(), sh).unwrap()).unwrap();
            assert!(c.contains("tcp-service"), "{sh}");
        }
        assert!(completions(command(), "tcsh").is_none());
    }
}
