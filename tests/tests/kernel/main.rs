//! Kernel tests: they run as root against the real IPVS of a kernel, in the VM that
//! `./tests/run` boots (`tests/vm/ipvs-vm`), one at a time (`--test-threads=1`).
//!
//! Built only with `--features kernel`. Each area is a module here (`tests/kernel/<area>.rs`).
//! Every test starts with [`harness::require_ipvs`], which fails (never skips) where IPVS is
//! missing, and does its work in a fresh network namespace ([`harness::NetNs`]), so that tests
//! see only their own services.
#![forbid(unsafe_code)]

mod harness;

mod bringup;
mod lab;
mod served;
mod support;

mod apply;
mod batch;
mod concurrency;
mod config;
mod conns;
mod daemons;
mod destinations;
mod drain;
mod errors;
mod exporter;
mod faults;
mod forwarding;
mod healthd;
mod hostile;
mod ipvsadm_agrees;
mod netns;
mod rollback;
mod scale;
mod services;
mod settings;
mod top;
mod torn;
mod traffic;
mod values;
