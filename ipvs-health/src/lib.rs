//! Health checks for the real servers of IPVS services, and their up/down
//! state, async on tokio. Usable without `ipvsctl`: a program hands a
//! [`Scheduler`] its targets with their [`Check`]s and receives
//! [`Transition`]s on a channel.
//!
//! - [`spec`]: check specs as JSON (the `"check"` of a service or a
//!   destination), read by [`read_check`] with errors that name the JSON
//!   path of the bad value; [`destination_check`] applies a service's check
//!   to a destination that has none of its own.
//! - [`check`]: one check, [`run`]: TCP connect, HTTP and HTTPS (hyper and
//!   rustls), UDP send and expect, DNS (hickory-proto), exec (a command, killed
//!   at the timeout). Each result is up, down, or could-not-check
//!   ([`Outcome::Unchecked`]: the checker's own trouble, such as running out
//!   of file descriptors, which must not take a server down).
//! - [`health`]: the state machine, [`Health`]: `rise` passes in a row bring
//!   a server up, `fall` failures in a row take it down; unknown until the
//!   first verdict.
//! - [`scheduler`]: every target on its own interval, first checks spread
//!   over the interval, targets added and removed while running with their
//!   state kept.
//!
//! ```no_run
//! use ipvs_health::{read_check, Event, Scheduler, Target};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let spec = serde_json::json!({
//!     "type": "http", "path": "/health", "expect_status": "200-299",
//!     "interval": 2, "timeout": 0.5, "rise": 2, "fall": 3
//! });
//! let check = read_check(&spec, "services[0].check")?.expect("not type none");
//! let (scheduler, mut events) = Scheduler::new();
//! for server in ["10.0.0.11:80", "10.0.0.12:80"] {
//!     let target = Target { service: "TCP 192.0.2.1:80".into(), server: server.parse()? };
//!     scheduler.insert(server.to_string(), target, check.clone());
//! }
//! while let Some(event) = events.recv().await {
//!     if let Event::Transition(t) = event {
//!         println!("{} {} -> {}: {}", t.key, t.from, t.to, t.reason);
//!     }
//! }
//! # Ok(())
//! # }
//! ```
// One unsafe call, in `connects` (registering its epoll set with tokio), says why.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod check;
mod connects;
pub mod health;
pub mod scheduler;
pub mod spec;

pub use check::{run, Outcome, Report, Target};
pub use health::{Change, Health, State};
pub use scheduler::{Event, Lateness, Scheduler, SharedStatuses, Status, Transition};
pub use spec::{destination_check, read_check, Check, CheckField, Probe, SpecError};
