//! The pages as they were written before `/status` was written straight into a buffer and the
//! health rows' labels into one text: the reference the host tests hold the new writers to,
//! byte for byte.

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use ipvs_health::scheduler::LATENESS_BOUNDS;
use ipvs_health::{Lateness, State as Health, Status};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

use super::super::config::{epoch, server_name};
use super::{on_down_word, outcome_word, Key, RealView, View};
use crate::exporter::metrics::{
    counter, dest_labels, family, fgauge, gauge, service_labels, Rendered,
};

/// What a read took before: a copy of the view and of every status.
#[derive(Debug)]
pub(super) struct Before {
    pub(super) view: View,
    pub(super) statuses: BTreeMap<Key, Status>,
    pub(super) lateness: Lateness,
}

/// `/status`: each service, each real server (its state, since when, why, the weight set,
/// its check's counters and last result), and the sorry server.
pub(super) fn status_json(r: &Before, now: SystemTime) -> serde_json::Value {
    use serde_json::json;
    let services: Vec<_> = r
        .view
        .services
        .iter()
        .map(|s| {
            let reals: Vec<_> = s
                .reals
                .iter()
                .map(|x| {
                    let check = x.check.map(|t| {
                        let st = r.statuses.get(&(s.key, x.addr, x.port));
                        json!({
                            "type": t,
                            "state": st.map_or("unknown", |st| st.health.state().as_str()),
                            "checks": st.map_or(0, |st| st.checks),
                            "failures": st.map_or(0, |st| st.failures.values().sum::<u64>()),
                            "unchecked": st.map_or(0, |st| st.unchecked),
                            "transitions": st.map_or(0, |st| st.transitions),
                            "last": st.and_then(|st| st.last.as_ref()).map(|l| json!({
                                "result": outcome_word(&l.outcome),
                                "reason": l.outcome.reason(),
                                "took": l.took.as_secs_f64(),
                            })),
                        })
                    });
                    json!({
                        "destination": server_name(x.addr, x.port),
                        "state": x.state.as_str(),
                        "since": epoch(x.since),
                        "reason": x.reason,
                        "weight": x.weight,
                        "file_weight": x.file_weight,
                        "in_table": x.weight.is_some(),
                        "maintenance": x.maintenance,
                        "draining": x.draining,
                        "check": check,
                    })
                })
                .collect();
            let up = s.reals.iter().filter(|x| x.state == Health::Up).count();
            json!({
                "service": s.key.to_string(),
                "on_down": on_down_word(s.on_down),
                "quorum": s.quorum,
                "up": up,
                "real_servers": reals,
                "sorry_server": s.sorry.as_ref().map(|x| json!({
                    "destination": server_name(x.addr, x.port),
                    "state": if x.wanted > 0 { "up" } else { "down" },
                    "since": epoch(x.since),
                    "weight": x.weight,
                })),
            })
        })
        .collect();
    json!({
        "time": epoch(now),
        "unchecked": r.view.unchecked,
        "reloads": r.view.reloads,
        "reload_failures": r.view.reload_failures,
        "services": services,
    })
}

/// A real server's rows: its labels, its view and its check's status.
struct RealRow<'a> {
    labels: Rendered,
    view: &'a RealView,
    status: Option<&'a Status>,
}

impl Collector for Before {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        use MetricType::{Counter, Gauge};
        let r = self;
        let e = &mut enc;
        let mut services = Vec::new();
        let mut reals = Vec::new();
        for s in &r.view.services {
            let sl = Rendered::of(&service_labels(None, &s.key));
            let closed = sl.closed();
            let up = s.reals.iter().filter(|x| x.state == Health::Up).count();
            services.push((sl, i64::try_from(up).unwrap_or(i64::MAX)));
            for x in &s.reals {
                reals.push(RealRow {
                    labels: dest_labels(&closed, Some(x.addr), Some(x.port)),
                    view: x,
                    status: r.statuses.get(&(s.key, x.addr, x.port)),
                });
            }
        }
        let known: Vec<&RealRow> = reals
            .iter()
            .filter(|x| x.view.state != Health::Unknown)
            .collect();
        family(
            e,
            "ipvs_backend_up",
            "1 when healthd has the real server up, 0 down (no sample before its first verdict).",
            Gauge,
            known.iter().copied(),
            |x| &x.labels,
            |x| gauge(i64::from(x.view.state == Health::Up)),
        )?;
        family(
            e,
            "ipvs_backend_state_since_seconds",
            "When healthd last changed the real server's state (or first knew it), Unix time.",
            Gauge,
            &reals,
            |x| &x.labels,
            |x| fgauge(epoch(x.view.since)),
        )?;
        family(
            e,
            "ipvs_backend_maintenance",
            "1 when the maintenance directory forces the real server down.",
            Gauge,
            &reals,
            |x| &x.labels,
            |x| gauge(i64::from(x.view.maintenance)),
        )?;
        let checked: Vec<(&RealRow, &Status)> = reals
            .iter()
            .filter_map(|x| x.status.map(|s| (x, s)))
            .collect();
        family(
            e,
            "ipvs_backend_check_duration_seconds",
            "Time the real server's last check took.",
            Gauge,
            checked.iter().filter(|(_, s)| s.last.is_some()),
            |x| &x.0.labels,
            |x| fgauge(x.1.last.as_ref().map_or(0.0, |l| l.took.as_secs_f64())),
        )?;
        family(
            e,
            "ipvs_backend_checks",
            "Checks made of the real server.",
            Counter,
            &checked,
            |x| &x.0.labels,
            |x| counter(x.1.checks),
        )?;
        family(
            e,
            "ipvs_backend_check_transitions",
            "Changes of the real server's check state (up, down).",
            Counter,
            &checked,
            |x| &x.0.labels,
            |x| counter(x.1.transitions),
        )?;
        let errors: Vec<(Rendered, u64)> = checked
            .iter()
            .flat_map(|(x, s)| {
                let head = format!("{}reason", x.labels.closed());
                s.failures.iter().map(move |(reason, n)| {
                    (
                        Rendered {
                            head: head.clone(),
                            last: reason.clone(),
                        },
                        *n,
                    )
                })
            })
            .collect();
        family(
            e,
            "ipvs_backend_check_errors",
            "Checks of the real server that did not pass (down, or healthd could not check), by reason.",
            Counter,
            &errors,
            |x| &x.0,
            |x| counter(x.1),
        )?;
        family(
            e,
            "ipvs_service_backends_up",
            "Real servers of the service that healthd has up (the sorry server not counted).",
            Gauge,
            &services,
            |x| &x.0,
            |x| gauge(x.1),
        )?;
        let none = [Rendered::default()];
        family(
            e,
            "ipvs_healthd_unchecked_checks",
            "Checks healthd could not make (its own trouble, not the servers').",
            Counter,
            &none,
            |x| x,
            |_| counter(r.view.unchecked),
        )?;
        let reloads = [
            (
                Rendered {
                    head: "result".into(),
                    last: "applied".into(),
                },
                r.view.reloads,
            ),
            (
                Rendered {
                    head: "result".into(),
                    last: "refused".into(),
                },
                r.view.reload_failures,
            ),
        ];
        family(
            e,
            "ipvs_healthd_reloads",
            "Re-reads of the rules file: applied, or refused (the running configuration stayed).",
            Counter,
            &reloads,
            |x| &x.0,
            |x| counter(x.1),
        )?;
        // Whether every schedule is kept: how late each check started against it.
        let l = &r.lateness;
        let buckets: Vec<(f64, u64)> = LATENESS_BOUNDS
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(l.buckets.iter().copied())
            .collect();
        e.encode_descriptor(
            "ipvs_healthd_check_lateness_seconds",
            "How late checks started against their schedule (one interval after the last one, or after its start when it was late).",
            None,
            MetricType::Histogram,
        )?
        .encode_histogram::<NoLabelSet>(l.sum, l.count, &buckets, None)?;
        Ok(())
    }
}
