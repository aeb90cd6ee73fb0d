//! Opening without `modprobe` on a kernel without IPVS (this host's, as the project's guide
//! says): the error says modprobe was not run, and carries no status.
#![forbid(unsafe_code)]

use ipvs::{Error, OpenOptions};

#[test]
fn without_modprobe_a_kernel_without_ipvs_is_not_available_at_once() {
    if std::path::Path::new("/proc/net/ip_vs").exists() {
        // A host with IPVS loaded opens: nothing to show here (the VM tests open it).
        OpenOptions::new().modprobe(false).open().unwrap();
        return;
    }
    match OpenOptions::new().modprobe(false).open() {
        Err(Error::NotAvailable {
            modprobe_status,
            modprobe_stderr,
        }) => {
            assert_eq!(modprobe_status, None);
            assert_eq!(modprobe_stderr, "");
        }
        other => panic!("{other:?}"),
    }
    let e = OpenOptions::new().modprobe(false).open().unwrap_err();
    assert_eq!(
        e.to_string(),
        "IPVS is not available in this kernel (no generic netlink family \"IPVS\"; \
         `modprobe ip_vs` was not run)"
    );
}
