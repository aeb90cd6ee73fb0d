//! Reading the JSON save format back (`-R --json`, `apply`): the schema and
//! its checks are the library's ([`ipvs::State`]); this only words the errors.
//! The listing document ([`list_json`]) is accepted too: its read-only fields
//! (statistics, connection counts, version) are ignored, any other unknown
//! field is an error, to catch misspellings.
//!
//! [`list_json`]: super::list_json

use ipvs::schema::StateInput;
use ipvs::State;

/// Reads a document written by [`save_json`] (or [`list_json`]) into the
/// state it describes, with ipvsadm's defaults filled in (see
/// `docs/json.md`). A syntax error is `invalid JSON: ...` with its line; a
/// bad value names its place, e.g. `services[2].destinations[0].forward: ...`.
///
/// [`save_json`]: super::save_json
/// [`list_json`]: super::list_json
pub fn parse_save_json(text: &str) -> Result<State, String> {
    let doc: StateInput = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    State::try_from(doc).map_err(|e| e.to_string())
}
