//! Host test: the kernel tests are not run by `cargo test`; this says how to run them, and checks
//! that the pieces `./tests/run` needs are in place.
#![cfg(not(feature = "kernel"))] // the kernel build ships its tests into the VM, not this one

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
