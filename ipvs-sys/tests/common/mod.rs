//! Loader for the golden netlink fixtures in `tests/fixtures/*.nl`.
//!
//! Use from an integration test with `mod common;`. The file format is
//! described in `tests/fixtures/README.md`: `#` comment lines, then one whole
//! netlink message per line as lowercase hex, `>` for userspace to kernel and
//! `<` for kernel to userspace, in capture order.
#![allow(dead_code)]

use std::fs;
use std::path::PathBuf;

/// Generic netlink family id the kernel gave "IPVS" in the capture VM. It is
/// assigned at module load and is not a constant of the interface: code must
/// resolve it; tests may use this value to build bytes that match the fixtures.
pub const CAPTURED_IPVS_FAMILY_ID: u16 = 0x20;

/// Direction of one captured message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// `>`: userspace (ipvsadm) to kernel.
    Request,
    /// `<`: kernel to userspace.
    Reply,
}

/// One fixture file.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The command lines of the capture (comment lines that start with
    /// `# ipvsadm `), without the leading `# `.
    pub commands: Vec<String>,
    /// The `>` messages, in capture order; each a whole nlmsg, header included.
    pub requests: Vec<Vec<u8>>,
    /// The `<` messages, in capture order; each a whole nlmsg, header included.
    pub replies: Vec<Vec<u8>>,
    /// All messages, requests and replies interleaved in capture order.
    pub messages: Vec<(Dir, Vec<u8>)>,
    /// The command's text output, from the `# output: ` comment lines.
    pub output: Vec<String>,
    /// The exit status of the command, from the `# exit status N` comment.
    pub exit_status: Option<i32>,
}

/// Directory holding the fixture files.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

/// Names (file stems) of every `*.nl` fixture, sorted.
pub fn names() -> Vec<String> {
    let dir = fixtures_dir();
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read fixture directory {}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.expect("fixture directory entry").path();
            if path.extension().is_some_and(|ext| ext == "nl") {
                Some(path.file_stem()?.to_str()?.to_owned())
            } else {
                None
            }
        })
        .collect();
    names.sort();
    names
}

/// Loads `tests/fixtures/{name}.nl`. Panics with the file and line on any
/// malformed content.
pub fn load(name: &str) -> Fixture {
    let path = fixtures_dir().join(format!("{name}.nl"));
    let text = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
    parse(&text).unwrap_or_else(|(line, msg)| panic!("{}:{line}: {msg}", path.display()))
}

/// Parses fixture text; on error returns (1-based line number, message).
pub fn parse(text: &str) -> Result<Fixture, (usize, String)> {
    let mut fx = Fixture {
        commands: Vec::new(),
        requests: Vec::new(),
        replies: Vec::new(),
        messages: Vec::new(),
        output: Vec::new(),
        exit_status: None,
    };
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.strip_prefix(' ').unwrap_or(comment);
            if comment.starts_with("ipvsadm ") || comment == "ipvsadm" {
                fx.commands.push(comment.to_owned());
            } else if let Some(out) = comment.strip_prefix("output: ") {
                fx.output.push(out.to_owned());
            } else if let Some(rc) = comment.strip_prefix("exit status ") {
                let rc = rc
                    .trim()
                    .parse()
                    .map_err(|_| (lineno, format!("bad exit status {rc:?}")))?;
                fx.exit_status = Some(rc);
            }
            continue;
        }
        let (dir, hex) = if let Some(rest) = line.strip_prefix("> ") {
            (Dir::Request, rest)
        } else if let Some(rest) = line.strip_prefix("< ") {
            (Dir::Reply, rest)
        } else {
            return Err((
                lineno,
                "expected a line starting with '#', '> ' or '< '".into(),
            ));
        };
        let bytes = decode_hex(hex).map_err(|msg| (lineno, msg))?;
        if bytes.len() < 16 {
            return Err((
                lineno,
                format!("{} bytes: shorter than a nlmsghdr", bytes.len()),
            ));
        }
        match dir {
            Dir::Request => fx.requests.push(bytes.clone()),
            Dir::Reply => fx.replies.push(bytes.clone()),
        }
        fx.messages.push((dir, bytes));
    }
    Ok(fx)
}

fn decode_hex(hex: &str) -> Result<Vec<u8>, String> {
    if hex.len() % 2 != 0 {
        return Err(format!("odd number of hex digits ({})", hex.len()));
    }
    let digit = |c: u8| -> Result<u8, String> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            _ => Err(format!("not a lowercase hex digit: {:?}", c as char)),
        }
    };
    hex.as_bytes()
        .chunks(2)
        .map(|pair| Ok(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// Fields of the 16-byte nlmsghdr at the start of `msg` (native = little endian
/// in these captures): (len, type, flags, seq, pid).
pub fn nlmsghdr(msg: &[u8]) -> (u32, u16, u16, u32, u32) {
    let u32_at = |o: usize| u32::from_le_bytes(msg[o..o + 4].try_into().unwrap());
    let u16_at = |o: usize| u16::from_le_bytes(msg[o..o + 2].try_into().unwrap());
    (u32_at(0), u16_at(4), u16_at(6), u32_at(8), u32_at(12))
}
