//! Arguments that several subcommands share, defined once: the service options (`-t`, `-u`,
//! `--sctp-service`, `-f`, `-6`), read by ipvsadm's own parser so that a service is the same
//! value everywhere, `--netns`, `--rates` of the subcommands that serve metrics, and
//! `-f`/`--file` of the subcommands that read a rules file.

use clap::{Arg, ArgAction, ArgGroup, ArgMatches, Command};

use ipvs::{Change, ServiceKey};

use crate::cli::{self, Command as CliCommand, Context, Failure};

/// The service options: `-t`/`--tcp-service`, `-u`/`--udp-service`, `--sctp-service`,
/// `-f`/`--fwmark-service` (one of them, and `required` says whether one must be given) and
/// `-6`/`--ipv6` for a fwmark service.
pub fn service_args(cmd: Command, required: bool) -> Command {
    let service =
        |id: &'static str, short: Option<char>, long: &'static str, help: &'static str| {
            let a = Arg::new(id)
                .long(long)
                .value_name(if id == "fwmark-service" {
                    "MARK"
                } else {
                    "HOST:PORT"
                })
                .num_args(1)
                .help(help);
            match short {
                Some(c) => a.short(c),
                None => a,
            }
        };
    cmd.arg(service(
        "tcp-service",
        Some('t'),
        "tcp-service",
        "A TCP service",
    ))
    .arg(service(
        "udp-service",
        Some('u'),
        "udp-service",
        "A UDP service",
    ))
    .arg(service(
        "sctp-service",
        None,
        "sctp-service",
        "An SCTP service",
    ))
    .arg(service(
        "fwmark-service",
        Some('f'),
        "fwmark-service",
        "A firewall-mark service",
    ))
    .group(
        ArgGroup::new("service")
            .args([
                "tcp-service",
                "udp-service",
                "sctp-service",
                "fwmark-service",
            ])
            .required(required),
    )
    .arg(
        Arg::new("ipv6")
            .short('6')
            .long("ipv6")
            .action(ArgAction::SetTrue)
            .requires("fwmark-service")
            .help("The fwmark service is IPv6"),
    )
}

/// The ipvsadm words of the service given to [`service_args`]' options (`-t HOST:PORT`, ...),
/// empty when none was.
pub fn service_words(matches: &ArgMatches) -> Vec<String> {
    let mut words = Vec::new();
    for (id, opt) in [
        ("tcp-service", "-t"),
        ("udp-service", "-u"),
        ("sctp-service", "--sctp-service"),
        ("fwmark-service", "-f"),
    ] {
        if let Some(v) = matches.get_one::<String>(id) {
            words.push(opt.to_string());
            words.push(v.clone());
        }
    }
    if !words.is_empty() && matches.get_flag("ipv6") {
        words.push("-6".to_string());
    }
    words
}

/// The service given to [`service_args`]' options, as ipvsadm's parser reads it for `-D`
/// (host and service names, ports, marks: its values and its messages); `None` when no service
/// was given.
pub fn service_key(prog: &str, matches: &ArgMatches) -> Result<Option<ServiceKey>, Failure> {
    let words = service_words(matches);
    if words.is_empty() {
        return Ok(None);
    }
    let mut line = vec!["-D".to_string()];
    line.extend(words);
    match cli::parse(prog, &line, Context::RestoreLine)?.command {
        CliCommand::Change(Change::DeleteService(key)) => Ok(Some(key)),
        _ => Err(Failure::usage("needs one service")),
    }
}

/// `--netns NAME|PATH`.
pub fn netns() -> Arg {
    Arg::new("netns")
        .long("netns")
        .value_name("NAME|PATH")
        .num_args(1)
        .help("Work in another network namespace")
}

/// `--rates`: the kernel's rate estimates on /metrics too, the exporter's and healthd's alike
/// (healthd's serves metrics only with `--listen`, which it then requires).
pub fn rates() -> Arg {
    Arg::new("rates")
        .long("rates")
        .action(ArgAction::SetTrue)
        .help(
            "Also write the kernel's rate estimates on /metrics (as ipvsadm --rate lists \
             them): the ten *_per_second gauges, per service and per real server. Off by \
             default: rate() of the counters gives the same, and they doubled the series of \
             every real server and were a third of a scrape's bytes",
        )
}

/// `-f`/`--file FILE`: the rules file a subcommand reads.
pub fn file() -> Arg {
    Arg::new("file")
        .short('f')
        .long("file")
        .value_name("FILE")
        .num_args(1)
        .value_hint(clap::ValueHint::FilePath)
}

#[cfg(test)]
mod tests {
    use clap::error::ErrorKind;

    /// `--rates` is one definition, the exporter's and healthd's: the same help, a flag in
    /// both, and healthd's only with `--listen` (its /metrics).
    #[test]
    fn rates_is_one_flag_for_the_exporter_and_healthd() {
        let help = |c: clap::Command| {
            let a = c
                .get_arguments()
                .find(|a| a.get_id() == "rates")
                .expect("a --rates");
            (
                a.get_long().map(str::to_string),
                a.get_help().map(ToString::to_string),
            )
        };
        let shared = help(clap::Command::new("x").arg(super::rates()));
        assert_eq!(shared.0.as_deref(), Some("rates"));
        assert!(shared.1.is_some());
        assert_eq!(help(crate::exporter::command()), shared);
        assert_eq!(help(crate::healthd::command()), shared);

        let exporter = |a: &[&str]| crate::exporter::command().try_get_matches_from(a);
        assert!(!exporter(&["exporter"]).unwrap().get_flag("rates"));
        assert!(exporter(&["exporter", "--rates"])
            .unwrap()
            .get_flag("rates"));
        let healthd = |a: &[&str]| crate::healthd::command().try_get_matches_from(a);
        let m = healthd(&["healthd", "-f", "r.json", "--listen", ":1", "--rates"]).unwrap();
        assert!(m.get_flag("rates"));
        let m = healthd(&["healthd", "-f", "r.json", "--listen", ":1"]).unwrap();
        assert!(!m.get_flag("rates"));
        assert_eq!(
            healthd(&["healthd", "-f", "r.json", "--rates"])
                .unwrap_err()
                .kind(),
            ErrorKind::MissingRequiredArgument
        );
    }
}
