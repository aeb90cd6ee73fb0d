//! The up/down state of one real server: `rise` passes in a row bring it
//! up, `fall` failures in a row take it down; results the checker could
//! not get ([`Outcome::Unchecked`]) count for neither.

use std::fmt;

use crate::check::Outcome;

/// A real server's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// No verdict yet: fewer than `rise` passes or `fall` failures in a row
    /// since the start.
    Unknown,
    /// The last `rise` (or more) results in a row passed, or it has not yet
    /// failed `fall` times in a row since.
    Up,
    /// The last `fall` (or more) results in a row failed, or it has not yet
    /// passed `rise` times in a row since.
    Down,
}

impl State {
    /// The state's word: `unknown`, `up`, `down`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Unknown => "unknown",
            State::Up => "up",
            State::Down => "down",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change of state, with the result that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The state before.
    pub from: State,
    /// The state now.
    pub to: State,
    /// The reason of the last result (`connect: connection refused`).
    pub reason: String,
}

/// The counters of one server's checks and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    state: State,
    rise: u32,
    fall: u32,
    passes: u32,
    fails: u32,
}

impl Health {
    /// A server with no verdict yet.
    pub fn new(rise: u32, fall: u32) -> Self {
        Health::starting(State::Unknown, rise, fall)
    }

    /// A server starting in `state`; [`State::Down`] is keepalived's `alpha`
    /// (a server must pass `rise` checks before it gets traffic).
    pub fn starting(state: State, rise: u32, fall: u32) -> Self {
        Health {
            state,
            rise: rise.max(1),
            fall: fall.max(1),
            passes: 0,
            fails: 0,
        }
    }

    /// The state now.
    pub fn state(&self) -> State {
        self.state
    }

    /// Passes in a row so far.
    pub fn passes(&self) -> u32 {
        self.passes
    }

    /// Failures in a row so far.
    pub fn fails(&self) -> u32 {
        self.fails
    }

    /// New thresholds (a reloaded spec); the state and the counts stay.
    pub fn set_thresholds(&mut self, rise: u32, fall: u32) {
        self.rise = rise.max(1);
        self.fall = fall.max(1);
    }

    /// Counts one result; gives the change it makes, if any.
    pub fn record(&mut self, outcome: &Outcome) -> Option<Change> {
        let to = match outcome {
            Outcome::Up(_) => {
                self.fails = 0;
                self.passes = self.passes.saturating_add(1);
                (self.state != State::Up && self.passes >= self.rise).then_some(State::Up)
            }
            Outcome::Down(_) => {
                self.passes = 0;
                self.fails = self.fails.saturating_add(1);
                (self.state != State::Down && self.fails >= self.fall).then_some(State::Down)
            }
            Outcome::Unchecked(_) => None,
        }?;
        let from = std::mem::replace(&mut self.state, to);
        Some(Change {
            from,
            to,
            reason: outcome.reason().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up() -> Outcome {
        Outcome::Up("connect: ok".into())
    }
    fn down() -> Outcome {
        Outcome::Down("connect: connection refused".into())
    }
    fn unchecked() -> Outcome {
        Outcome::Unchecked("connect: too many open files".into())
    }

    /// The states after each result.
    fn run(h: &mut Health, results: &[Outcome]) -> Vec<State> {
        results
            .iter()
            .map(|o| {
                h.record(o);
                h.state()
            })
            .collect()
    }

    #[test]
    fn rise_and_fall_count_results_in_a_row() {
        use State::*;
        let mut h = Health::new(2, 3);
        assert_eq!(h.state(), Unknown);
        assert_eq!(run(&mut h, &[up(), up()]), [Unknown, Up]);
        // Two failures, a pass: the count starts again.
        assert_eq!(run(&mut h, &[down(), down(), up()]), [Up, Up, Up]);
        assert_eq!(run(&mut h, &[down(), down(), down()]), [Up, Up, Down]);
        assert_eq!(
            run(&mut h, &[up(), down(), up(), up()]),
            [Down, Down, Down, Up]
        );
    }

    #[test]
    fn first_verdict_from_unknown_either_way() {
        let mut h = Health::new(2, 2);
        assert_eq!(h.record(&down()), None);
        let c = h.record(&down()).expect("a change");
        assert_eq!((c.from, c.to), (State::Unknown, State::Down));
        assert_eq!(c.reason, "connect: connection refused");
    }

    #[test]
    fn unchecked_counts_for_neither() {
        let mut h = Health::new(1, 2);
        h.record(&up());
        assert_eq!(h.state(), State::Up);
        h.record(&down());
        for _ in 0..10 {
            assert_eq!(h.record(&unchecked()), None);
        }
        assert_eq!((h.state(), h.fails()), (State::Up, 1));
        let c = h.record(&down()).expect("the second failure in a row");
        assert_eq!(c.to, State::Down);
    }

    #[test]
    fn alpha_starts_down() {
        let mut h = Health::starting(State::Down, 2, 1);
        assert_eq!(h.record(&down()), None, "already down: no change");
        assert_eq!(h.record(&up()), None);
        assert_eq!(
            h.record(&up()).map(|c| (c.from, c.to)),
            Some((State::Down, State::Up))
        );
    }

    #[test]
    fn new_thresholds_keep_the_state() {
        let mut h = Health::new(1, 1);
        h.record(&up());
        h.set_thresholds(5, 5);
        assert_eq!(h.state(), State::Up);
        assert_eq!(
            run(&mut h, &[down(), down(), down(), down()]),
            [State::Up; 4]
        );
        assert_eq!(h.record(&down()).map(|c| c.to), Some(State::Down));
    }
}
