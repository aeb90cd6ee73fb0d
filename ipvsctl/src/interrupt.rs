//! SIGINT and SIGTERM during a long `-R` or `apply`.
//!
//! Once [`watch`] is called (just before the first change is sent), the two signals no longer
//! end the process: they raise a flag that the senders read between batches. The batch in
//! flight is always finished (the kernel has done it by the time its send returns); then `-R`
//! stops and says which input lines were applied, and `apply` undoes what it made (the flag is
//! read once more after the last batch, so a signal during it undoes that too). Either exits
//! with 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as a shell reports a
//! process the signal ended (`apply`: 3 when its undo failed). Before [`watch`] (reading and checking the input), the signals
//! end the process as usual: nothing has been sent then.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The number of the signal received, or 0.
static RECEIVED: AtomicUsize = AtomicUsize::new(0);

/// From now on, SIGINT and SIGTERM set the flag instead of ending the process. A failure to
/// install the handlers is an error: the caller must not start what it could not stop well.
pub fn watch() -> std::io::Result<()> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        signal_hook::flag::register_usize(signal, &RECEIVED, signal as usize)?;
    }
    Ok(())
}

/// The signal received since [`watch`], if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s as i32),
    }
}

/// The signal's name, for messages.
pub fn name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// The exit status after an interruption: 128 + the signal's number.
pub fn exit_code(signal: i32) -> i32 {
    128 + signal
}
