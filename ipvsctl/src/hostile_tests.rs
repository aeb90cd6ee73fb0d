//! Host tests of hostile input to `-R` and `apply`'s parsers: binary bytes, NUL, lines of
//! megabytes, a million lines, deep JSON. Each is a clear error naming the line (or the JSON
//! position), or a success; never a panic. The kernel side (nothing applied, memory bounded)
//! is proven in the VM: tests/tests/kernel/hostile.rs.

use crate::restore::{flat, json_changes, parse_input};
use crate::{apply, cli::Command};

/// Random bytes from a fixed seed (xorshift64*).
fn binary(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

/// `-R` reads its input as `String::from_utf8_lossy` does.
fn restore(bytes: &[u8]) -> Result<usize, (i32, String)> {
    parse_input("ipvsctl", &String::from_utf8_lossy(bytes))
        .map(|steps| steps.len())
        .map_err(|f| (f.code, f.message))
}

#[test]
fn binary_input_is_a_clear_error_on_its_line() {
    for seed in 1..=64 {
        let bytes = binary(16 * 1024, seed);
        let (code, message) = restore(&bytes).expect_err("random bytes are no rules");
        assert!([2, 255].contains(&code), "seed {seed}: {code} {message}");
        assert!(message.starts_with("line "), "seed {seed}: {message}");
        // The line named is a line of the input.
        let n: usize = message[5..].split(':').next().unwrap().parse().unwrap();
        assert!(n >= 1 && n <= bytes.iter().filter(|b| **b == b'\n').count() + 1);
        assert!(apply::parse_state(&String::from_utf8_lossy(&bytes)).is_err());
        assert!(json_changes(&String::from_utf8_lossy(&bytes)).is_err());
    }
}

#[test]
fn nul_bytes_are_refused_on_their_line() {
    let input = b"-A -t 10.77.0.1:80 -s rr\n-a -t 10.77.0.1:80 -r 10.78.0.1\0:80 -m\n";
    assert_eq!(
        restore(input),
        Err((
            2,
            "line 2: illegal real server address[:port] specified".into()
        ))
    );
    let (code, message) = restore(&[0; 4096]).unwrap_err();
    assert_eq!(code, 255);
    assert!(message.starts_with("line 1: Try `ipvsctl -h'"), "{message}");
    let e = apply::parse_state("{\"services\": [\0]}").unwrap_err();
    assert!(e.starts_with("invalid JSON"), "{e}");
}

#[test]
fn lines_of_megabytes_are_refused() {
    let word = format!("-A -t 10.77.0.1:80 -s {}\n", "r".repeat(1 << 20));
    let (code, message) = restore(word.as_bytes()).unwrap_err();
    assert_eq!(code, 2);
    assert_eq!(
        message,
        format!("line 1: unexpected argument {}", "r".repeat(4096))
    );
    let words = format!("-A -t 10.77.0.1:80 {}", "x ".repeat(1 << 20));
    assert_eq!(
        restore(words.as_bytes()),
        Err((2, "line 1: unexpected argument x".into()))
    );
    assert_eq!(
        apply::parse_state(&word).unwrap_err(),
        format!("line 1: unexpected argument {}", "r".repeat(4096))
    );
}

#[test]
fn a_million_lines_are_read_to_the_bad_one_or_taken() {
    let mut text = "\n".repeat(999_999);
    text.push_str("-A -t 10.77.0.1:99999 -s rr\n");
    let bad = "line 1000000: illegal virtual server address[:port] specified";
    assert_eq!(restore(text.as_bytes()), Err((2, bad.to_string())));
    assert_eq!(apply::parse_state(&text).unwrap_err(), bad);
    // A hundred thousand rules (a million take half a minute in a debug build): all parsed.
    let rules: String = (0..100_000u32)
        .map(|i| {
            format!(
                "-a -t 10.{}.{}.{}:80 -r 10.1.1.1:80 -m -w 1\n",
                i / 62_500,
                i / 250 % 250,
                i % 250 + 1
            )
        })
        .collect();
    let steps = flat(parse_input("ipvsctl", &rules).unwrap());
    assert_eq!(steps.len(), 100_000);
    assert_eq!(steps[99_999].0, 100_000);
    assert!(steps.iter().all(|s| matches!(s.1, Command::Change(_))));
}

#[test]
fn deep_json_is_refused() {
    for (open, close) in [
        ("[", "]"),
        ("{\"services\":", "}"),
        ("{\"services\":[", "]}"),
    ] {
        let text = format!("{}1{}", open.repeat(100_000), close.repeat(100_000));
        let e = json_changes(&text).unwrap_err();
        assert!(e.starts_with("invalid JSON"), "{open}: {e}");
        if open.starts_with('{') {
            let e = apply::parse_state(&text).unwrap_err();
            assert!(e.starts_with("invalid JSON"), "{open}: {e}");
        }
    }
}
