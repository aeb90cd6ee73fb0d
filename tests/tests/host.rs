//! Host test: the kernel tests are not run by `cargo test`; this says how to run them, and checks
//! that the pieces `./tests/run` needs are in place.
#![cfg(not(feature = "kernel"))] // the kernel build ships its tests into the VM, not this one
#![forbid(unsafe_code)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

fn assert_executable(relative: &str) {
    let path = Path::new(MANIFEST_DIR).join(relative);
    let meta = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(meta.is_file(), "{} is not a file", path.display());
    assert_ne!(
        meta.permissions().mode() & 0o111,
        0,
        "{} is not executable",
        path.display()
    );
}

#[test]
fn kernel_tests_run_in_a_vm_with_tests_run() {
    // Written past the test harness's capture, so that every `cargo test` shows it.
    let _ = writeln!(
        std::io::stderr(),
        "note: the kernel tests (tests/tests/kernel) need a kernel with IPVS; \
         `./tests/run` (as root) runs them in a VM, `./tests/run --vm-only -- NAME` runs some"
    );
    for script in [
        "run",
        "demo",
        "vm/ipvs-vm",
        "vm/guest-tests.sh",
        "vm/demo.sh",
        "vm/tally.sh",
        "mutants/build",
        "mutants/vm-boot",
    ] {
        assert_executable(script);
    }
}

#[test]
fn every_kernel_test_module_is_declared_in_main_rs() {
    let dir = Path::new(MANIFEST_DIR).join("tests/kernel");
    let main = std::fs::read_to_string(dir.join("main.rs")).expect("tests/kernel/main.rs");
    let mut modules = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/kernel") {
        let name = entry
            .expect("dir entry")
            .file_name()
            .into_string()
            .expect("utf-8 name");
        let Some(module) = name.strip_suffix(".rs").filter(|m| *m != "main") else {
            continue;
        };
        assert!(
            main.lines().any(|l| l.trim() == format!("mod {module};")),
            "tests/kernel/{name} is not compiled: add `mod {module};` to tests/kernel/main.rs"
        );
        modules += 1;
    }
    assert!(
        modules >= 2,
        "expected at least harness.rs and bringup.rs, found {modules}"
    );
}

/// Runs tests/vm/tally.sh on a guest log made of `lines`; its status and output.
fn tally(require: &[&str], lines: &[&str]) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!("ipvst-tally-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let log = dir.join(format!("guest-{}.log", lines.len() * 31 + require.len()));
    std::fs::write(
        &log,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .expect("log");
    let mut cmd = std::process::Command::new(Path::new(MANIFEST_DIR).join("vm/tally.sh"));
    for r in require {
        cmd.args(["--require", r]);
    }
    let out = cmd.arg(&log).output().expect("run tally.sh");
    let _ = std::fs::remove_file(&log);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn the_tally_requires_each_half_on_its_own() {
    let rust = "test result: ok. 17 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out";
    let rust_none = "test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out";
    let diff = "ipvst-suite: ipvsadm-diff.sh: 441 passed, 0 failed";
    let diff_none = "ipvst-suite: ipvsadm-diff.sh: 0 passed, 0 failed";
    let both = ["rust", "ipvsadm-diff.sh"];

    let (ok, text) = tally(&both, &[rust, diff]);
    assert!(ok, "{text}");
    assert!(text.ends_with("kernel: 458 passed, 0 failed\n"), "{text}");

    let (ok, text) = tally(&both, &[rust_none, diff]);
    assert!(
        !ok && text.contains("the Rust kernel tests ran none"),
        "{text}"
    );
    let (ok, text) = tally(&both, &[rust]);
    assert!(
        !ok && text.contains("ipvsadm-diff.sh ran no case"),
        "{text}"
    );
    let (ok, text) = tally(&both, &[rust, diff_none]);
    assert!(
        !ok && text.contains("ipvsadm-diff.sh ran no case"),
        "{text}"
    );
    // Without requirements, one half is enough; nothing at all is not.
    assert!(tally(&[], &[rust]).0);
    let (ok, text) = tally(&[], &[rust_none]);
    assert!(!ok && text.contains("no kernel test ran"), "{text}");
}

#[test]
fn the_tally_counts_failures_and_crashes() {
    let (ok, text) = tally(
        &[],
        &[
            "test result: FAILED. 15 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out",
            "ipvst-suite: ipvsadm-diff.sh: 440 passed, 1 failed",
            "ipvst-crash: mutants.sh exited 1 without its closing 'N passed, N failed' line",
        ],
    );
    assert!(!ok, "{text}");
    assert!(text.ends_with("kernel: 455 passed, 4 failed\n"), "{text}");
}
