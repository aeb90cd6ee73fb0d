//! Helpers for the kernel tests: commands, `ipvsadm`, and throwaway network namespaces.
#![allow(dead_code)] // each helper is for the tests that need it

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The file the VM runner (`tests/vm/ipvs-vm`) creates in every guest.
pub const VM_MARKER: &str = "/etc/ipvsctl-vm";

/// True inside the test VM of `tests/vm/ipvs-vm`.
pub fn in_vm() -> bool {
    Path::new(VM_MARKER).exists()
}

/// Fails the calling test unless IPVS is there. Call it first in every kernel test: a kernel
/// test that cannot reach IPVS has failed, it has not been skipped.
pub fn require_ipvs() {
    if !Path::new("/proc/net/ip_vs").exists() {
        panic!(
            "IPVS is not available here: /proc/net/ip_vs is missing (in the test VM: {}). The \
             kernel tests need root and a kernel with the ip_vs module loaded; run them with \
             ./tests/run, which boots a VM that has both.",
            in_vm()
        );
    }
}

/// Runs a program and returns its exit status (-1 when killed by a signal), stdout and stderr.
/// Panics only when the program cannot be started.
pub fn run(program: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Like [`run`], but panics unless the program exits 0; returns its stdout.
pub fn run_ok(program: &str, args: &[&str]) -> String {
    let (status, stdout, stderr) = run(program, args);
    assert_eq!(
        status,
        0,
        "`{program} {}` exited {status}\nstdout: {stdout}\nstderr: {stderr}",
        args.join(" ")
    );
    stdout
}

/// Runs `ipvsadm` (the reference implementation, 1.31) in the current network namespace.
pub fn ipvsadm(args: &[&str]) -> (i32, String, String) {
    run("ipvsadm", args)
}

static NEXT_NS: AtomicUsize = AtomicUsize::new(0);

/// A fresh named network namespace (`ip netns add ipvst-<pid>-<n>`), deleted on drop. Its
/// loopback is up. IPVS state is per namespace, so a test in its own namespace starts with no
/// services and leaves none behind.
pub struct NetNs {
    name: String,
}

impl NetNs {
    /// Creates the namespace; panics when it cannot (and when IPVS is missing).
    pub fn new() -> NetNs {
        require_ipvs();
        let n = NEXT_NS.fetch_add(1, Ordering::Relaxed);
        let name = format!("ipvst-{}-{n}", std::process::id());
        run_ok("ip", &["netns", "add", &name]);
        let ns = NetNs { name };
        ns.exec_ok("ip", &["link", "set", "lo", "up"]);
        ns
    }

    /// The namespace's name, for `ip netns exec NAME` and `/run/netns/NAME`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs a program inside the namespace (`ip netns exec`): status, stdout, stderr.
    pub fn exec(&self, program: &str, args: &[&str]) -> (i32, String, String) {
        let mut all = vec!["netns", "exec", &self.name, program];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// Like [`NetNs::exec`], but panics unless the program exits 0; returns its stdout.
    pub fn exec_ok(&self, program: &str, args: &[&str]) -> String {
        let mut all = vec!["netns", "exec", &self.name, program];
        all.extend_from_slice(args);
        run_ok("ip", &all)
    }

    /// `ipvsadm` inside the namespace.
    pub fn ipvsadm(&self, args: &[&str]) -> (i32, String, String) {
        self.exec("ipvsadm", args)
    }

    /// `ipvsadm` inside the namespace, which must exit 0; returns its stdout.
    pub fn ipvsadm_ok(&self, args: &[&str]) -> String {
        self.exec_ok("ipvsadm", args)
    }

    /// Runs `f` on a thread that has entered the namespace (setns), so that the sockets it opens,
    /// the library's included, talk to this namespace's IPVS. A panic in `f` is the caller's.
    pub fn enter<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        let path = format!("/run/netns/{}", self.name);
        ipvs_sys::netns::run_in_netns_scoped(std::path::Path::new(&path), f)
            .unwrap_or_else(|e| panic!("cannot enter {path}: {e}"))
    }
}

impl Default for NetNs {
    fn default() -> Self {
        NetNs::new()
    }
}

/// The processes (other than this one) whose network namespace is the file `ns` (a
/// `/run/netns/NAME`), read from `/proc/PID/ns/net`.
fn processes_in(ns: &Path) -> Vec<i32> {
    use std::os::unix::fs::MetadataExt;
    let Ok(want) = std::fs::metadata(ns) else {
        return Vec::new();
    };
    let me = std::process::id() as i32;
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            // A process that has just exited (or a zombie) has no namespace to read: skip it.
            std::fs::metadata(format!("/proc/{pid}/ns/net"))
                .is_ok_and(|m| (m.dev(), m.ino()) == (want.dev(), want.ino()))
        })
        .collect()
}

impl Drop for NetNs {
    fn drop(&mut self) {
        // A process a test started there and did not end (a failed test's background writer,
        // say) would keep the namespace, its IPVS table and the kernel's one IPVS mutex busy
        // for every later test: it is killed first. Its children may appear while it dies, so
        // the namespace is looked at again.
        let path = format!("/run/netns/{}", self.name);
        for _ in 0..20 {
            let left = processes_in(Path::new(&path));
            if left.is_empty() {
                break;
            }
            eprintln!("harness: killing {left:?}, left running in {}", self.name);
            let pids: Vec<String> = left.iter().map(i32::to_string).collect();
            let mut args = vec!["-KILL"];
            args.extend(pids.iter().map(String::as_str));
            let _ = run("kill", &args); // one may be gone already: looked at again below
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let (status, _, stderr) = run("ip", &["netns", "delete", &self.name]);
        if status != 0 && !std::thread::panicking() {
            panic!("ip netns delete {} failed: {stderr}", self.name);
        }
    }
}
