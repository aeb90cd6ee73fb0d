//! The lecture's LVS setups as small networks of namespaces, for real traffic driven by the
//! `ipvsctl` binary: a client, a director and real servers, each a [`NetNs`] joined by veth
//! pairs; the real servers run `busybox httpd` with a page that names them, the client asks with
//! `busybox wget`, and the tests count which real server answered each request.
//!
//! - [`NatLab`] (LVS/NAT, `-m`), as `tests/vm/demo.sh` builds it: the client on 10.0.0.0/24 and
//!   fd00::/64 facing the director, which holds the VIPs 10.0.0.100 and fd00::100 and bridges the
//!   real servers on 192.168.10.0/24 and fd00:10::/64; they route back through the director.
//! - [`LanLab`] (LVS/DR `-g` and LVS/TUN `-i`): client, director and real servers on one switch
//!   (a bridge in a namespace of its own), 10.0.0.0/24; the real servers answer the client
//!   directly, and the VIP 10.0.0.100 is the director's.
#![allow(dead_code)] // each helper is for the tests that need it

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::harness::{run_ok, NetNs};
use crate::support::{addrport, wait_for};

/// The virtual IP of both labs, and the IPv6 one of the NAT lab.
pub const VIP: &str = "10.0.0.100";
pub const VIP6: &str = "fd00::100";

/// `ipvsctl` (the binary under test, `/bin/ipvsctl` in the VM) in a namespace; it must exit 0.
pub fn ipvsctl(ns: &NetNs, args: &[&str]) -> String {
    ns.exec_ok("ipvsctl", args)
}

/// Sets a sysctl in a namespace.
pub fn sysctl(ns: &NetNs, key: &str, value: &str) {
    ns.exec_ok("sysctl", &["-q", "-w", &format!("{key}={value}")]);
}

/// `ip` in a namespace, which must succeed; the arguments as one string split on spaces.
pub fn ip(ns: &NetNs, args: &str) {
    let args: Vec<&str> = args.split_whitespace().collect();
    ns.exec_ok("ip", &args);
}

/// Loads a module of the VM's module cache (`tests/vm/ipvs-vm`, EXTRA_MODULES).
pub fn modprobe(module: &str) {
    run_ok("modprobe", &[module]);
}

/// A `busybox httpd` serving a page with its real server's name, in the foreground of a child
/// process that is killed on drop (a daemon would outlive the test and keep its namespace).
pub struct Httpd {
    child: Child,
    dir: PathBuf,
}

impl Httpd {
    /// Starts the server on port 80 of the namespace (IPv4 and IPv6) and waits until it answers.
    pub fn start(ns: &NetNs, name: &str) -> Httpd {
        Httpd::start_on(ns, name, None)
    }

    /// Starts the server on port 80 of `addr` only (every address without), and waits until it
    /// answers there.
    pub fn start_on(ns: &NetNs, name: &str, addr: Option<&str>) -> Httpd {
        let dir = PathBuf::from(format!("/tmp/{}-{}-www", ns.name(), addr.unwrap_or("any")));
        std::fs::create_dir_all(&dir).expect("web root");
        std::fs::write(dir.join("index.html"), format!("{name}\n")).expect("index.html");
        let port = addr.map_or("80".to_string(), |a| format!("{a}:80"));
        let child = Command::new("ip")
            .args(["netns", "exec", ns.name(), "busybox", "httpd", "-f", "-p"])
            .arg(&port)
            .arg("-h")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start busybox httpd");
        let server = Httpd { child, dir };
        let at = url(addr.unwrap_or("127.0.0.1"));
        wait_for(
            &format!("busybox httpd of {name}"),
            Duration::from_secs(20),
            || {
                let (status, body, _) = ns.exec("timeout", &["5", "wget", "-q", "-O", "-", &at]);
                (status == 0 && body.trim() == name).then_some(())
            },
        );
        server
    }
}

impl Drop for Httpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One HTTP GET with busybox wget from the namespace; the page's text (the real server's name).
pub fn get(client: &NetNs, url: &str) -> String {
    // Not wget -T: busybox 1.35's wget crashes with it. The timeout applet bounds it instead.
    let (status, body, stderr) = client.exec("timeout", &["10", "wget", "-q", "-O", "-", url]);
    assert_eq!(status, 0, "wget {url} from {}: {stderr}", client.name());
    body.trim().to_string()
}

/// `n` requests to `url`: how many each real server answered.
pub fn tally(client: &NetNs, url: &str, n: usize) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for _ in 0..n {
        *counts.entry(get(client, url)).or_insert(0) += 1;
    }
    counts
}

/// A tally as the tests expect it: `[("rs1", 4), ("rs2", 4)]`.
pub fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// The URL of `addr` port 80 (IPv6 in brackets).
pub fn url(addr: &str) -> String {
    if addr.contains(':') {
        format!("http://[{addr}]:80/")
    } else {
        format!("http://{addr}:80/")
    }
}

/// A connection as `ipvsctl -Lnc` shows it: protocol, state, client, virtual address and real
/// server, each `addr:port` with IPv6 in brackets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Conn {
    pub protocol: String,
    pub state: String,
    pub client: String,
    pub virt: String,
    pub dest: String,
}

/// The connections of `ipvsctl -Lnc` and of `ipvsctl -Lnc --json` in the namespace: asserts
/// that both show the same ones, and returns them sorted.
pub fn connections(ns: &NetNs) -> Vec<Conn> {
    let text = ipvsctl(ns, &["-Lnc"]);
    let mut listed: Vec<Conn> = text
        .lines()
        .skip(2)
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 6, "a row of ipvsctl -Lnc: {l:?}\n{text}");
            Conn {
                protocol: f[0].to_string(),
                state: f[2].to_string(),
                client: f[3].to_string(),
                virt: f[4].to_string(),
                dest: f[5].to_string(),
            }
        })
        .collect();
    let json: Value = serde_json::from_str(&ipvsctl(ns, &["-Lnc", "--json"]))
        .expect("ipvsctl -Lnc --json is JSON");
    let at = |c: &Value, addr: &str, port: &str| {
        let a: std::net::IpAddr = c[addr].as_str().expect(addr).parse().expect(addr);
        addrport(a, c[port].as_u64().expect(port) as u16)
    };
    let mut from_json: Vec<Conn> = json["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .map(|c| Conn {
            protocol: c["protocol"].as_str().expect("protocol").to_uppercase(),
            state: c["state"].as_str().expect("state").to_string(),
            client: at(c, "client_address", "client_port"),
            virt: at(c, "virtual_address", "virtual_port"),
            dest: at(c, "destination_address", "destination_port"),
        })
        .collect();
    listed.sort();
    from_json.sort();
    assert_eq!(
        listed, from_json,
        "ipvsctl -Lnc (left) and -Lnc --json (right):\n{text}"
    );
    listed
}

/// Waits until the namespace lists exactly `n` connections to `vip` other than persistence
/// templates, all in `state`, and returns how many each real server (`addr:port`) has. The
/// limit is generous: on a loaded emulated machine a connection can take long to change state.
pub fn wait_connections(ns: &NetNs, vip: &str, n: usize, state: &str) -> BTreeMap<String, usize> {
    let limit = Duration::from_secs(60);
    let start = std::time::Instant::now();
    loop {
        let conns: Vec<Conn> = connections(ns)
            .into_iter()
            .filter(|c| c.virt == vip && !c.client.ends_with(":0"))
            .collect();
        if conns.len() == n && conns.iter().all(|c| c.state == state) {
            let mut per = BTreeMap::new();
            for c in &conns {
                *per.entry(c.dest.clone()).or_insert(0) += 1;
            }
            return per;
        }
        assert!(
            start.elapsed() < limit,
            "gave up after {limit:?} waiting for {n} connections to {vip} in {state}: {conns:#?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// `ipvsctl -Ln --json` in the namespace.
pub fn listing(ns: &NetNs) -> Value {
    serde_json::from_str(&ipvsctl(ns, &["-Ln", "--json"])).expect("ipvsctl -Ln --json is JSON")
}

/// The statistics of the one service of the namespace and of each of its real servers (by
/// address), once the kernel has folded at least `conns` connections and `in_packets` packets
/// into what a listing reads (it does every 2 s).
pub fn settled_stats(ns: &NetNs, conns: u64, in_packets: u64) -> (Value, BTreeMap<String, Value>) {
    wait_for(
        "the connections and packets in the statistics",
        Duration::from_secs(20),
        || {
            let l = listing(ns);
            let svc = l["services"][0].clone();
            let s = &svc["stats"];
            (s["conns"].as_u64() == Some(conns) && s["in_packets"].as_u64()? >= in_packets).then(
                || {
                    let dests = svc["destinations"]
                        .as_array()
                        .expect("destinations")
                        .iter()
                        .map(|d| {
                            (
                                d["address"].as_str().unwrap().to_string(),
                                d["stats"].clone(),
                            )
                        })
                        .collect();
                    (s.clone(), dests)
                },
            )
        },
    )
}

/// Normalizes a MAC address (`2:0:a:...` as busybox prints it) to `02:00:0a:...`.
pub fn mac(text: &str) -> String {
    text.trim()
        .split(':')
        .map(|b| format!("{:02x}", u8::from_str_radix(b, 16).expect("MAC byte")))
        .collect::<Vec<_>>()
        .join(":")
}

/// The MAC address of `dev` in the namespace.
pub fn mac_of(ns: &NetNs, dev: &str) -> String {
    let out = ns.exec_ok("ip", &["-o", "link", "show", dev]);
    let at = out.find("link/ether ").expect("link/ether") + "link/ether ".len();
    mac(&out[at..at + 17])
}

/// The MAC addresses that answer ARP requests for `target` from the client's eth0 (busybox
/// arping, two broadcast requests).
pub fn arp_answers(client: &NetNs, target: &str) -> Vec<String> {
    let (_, out, _) = client.exec(
        "arping",
        &["-b", "-c", "2", "-w", "3", "-I", "eth0", target],
    );
    let mut macs: Vec<String> = out
        .lines()
        .filter(|l| l.contains(" reply from "))
        .filter_map(|l| Some(mac(&l[l.find('[')? + 1..l.find(']')?])))
        .collect();
    macs.sort();
    macs.dedup();
    macs
}

/// The NAT lab: see the module's documentation. `rs[i]` is `rs{i+1}` at 192.168.10.{11+i} and
/// fd00:10::{11+i}.
pub struct NatLab {
    // Dropped first: the servers go before their namespaces.
    pub servers: Vec<Httpd>,
    pub client: NetNs,
    pub director: NetNs,
    pub rs: Vec<NetNs>,
}

impl NatLab {
    pub fn new(real_servers: usize) -> NatLab {
        let client = NetNs::new();
        let director = NetNs::new();
        let rs: Vec<NetNs> = (0..real_servers).map(|_| NetNs::new()).collect();
        run_ok(
            "ip",
            &[
                "link",
                "add",
                "c0",
                "netns",
                client.name(),
                "type",
                "veth",
                "peer",
                "name",
                "ext0",
                "netns",
                director.name(),
            ],
        );
        ip(&client, "addr add 10.0.0.2/24 dev c0");
        ip(&client, "addr add fd00::2/64 dev c0 nodad");
        ip(&client, "link set c0 up");
        ip(&director, "addr add 10.0.0.1/24 dev ext0");
        ip(&director, &format!("addr add {VIP}/24 dev ext0"));
        ip(&director, "addr add fd00::1/64 dev ext0 nodad");
        ip(&director, &format!("addr add {VIP6}/64 dev ext0 nodad"));
        ip(&director, "link set ext0 up");
        ip(&director, "link add br0 type bridge");
        ip(&director, "addr add 192.168.10.1/24 dev br0");
        ip(&director, "addr add fd00:10::1/64 dev br0 nodad");
        ip(&director, "link set br0 up");
        for (i, r) in rs.iter().enumerate() {
            let port = format!("rs{}", i + 1);
            run_ok(
                "ip",
                &[
                    "link",
                    "add",
                    "eth0",
                    "netns",
                    r.name(),
                    "type",
                    "veth",
                    "peer",
                    "name",
                    &port,
                    "netns",
                    director.name(),
                ],
            );
            ip(&director, &format!("link set {port} master br0 up"));
            ip(r, &format!("addr add 192.168.10.{}/24 dev eth0", 11 + i));
            ip(
                r,
                &format!("addr add fd00:10::{}/64 dev eth0 nodad", 11 + i),
            );
            ip(r, "link set eth0 up");
            // Replies go back through the director, which rewrites them.
            ip(r, "route add default via 192.168.10.1");
            ip(r, "-6 route add default via fd00:10::1");
        }
        sysctl(&director, "net.ipv4.ip_forward", "1");
        sysctl(&director, "net.ipv6.conf.all.forwarding", "1");
        let servers = rs
            .iter()
            .enumerate()
            .map(|(i, r)| Httpd::start(r, &format!("rs{}", i + 1)))
            .collect();
        NatLab {
            servers,
            client,
            director,
            rs,
        }
    }
}

/// The one-switch lab of direct routing and tunnelling: see the module's documentation. The
/// client is 10.0.0.2, the director 10.0.0.1 with the VIP, `rs[i]` is `rs{i+1}` at
/// 10.0.0.{11+i}; every node's interface is `eth0`. The real servers are set up as the
/// forwarding method needs by the test ([`LanLab::real_servers_own_the_vip`]).
pub struct LanLab {
    pub servers: Vec<Httpd>,
    pub client: NetNs,
    pub director: NetNs,
    pub rs: Vec<NetNs>,
    pub switch: NetNs,
}

impl LanLab {
    pub fn new(real_servers: usize) -> LanLab {
        let switch = NetNs::new();
        ip(&switch, "link add br0 type bridge");
        ip(&switch, "link set br0 up");
        let client = NetNs::new();
        let director = NetNs::new();
        let rs: Vec<NetNs> = (0..real_servers).map(|_| NetNs::new()).collect();
        let nodes: Vec<(&NetNs, String)> = [
            (&client, "10.0.0.2".to_string()),
            (&director, "10.0.0.1".into()),
        ]
        .into_iter()
        .chain(
            rs.iter()
                .enumerate()
                .map(|(i, r)| (r, format!("10.0.0.{}", 11 + i))),
        )
        .collect();
        for (n, (node, addr)) in nodes.iter().enumerate() {
            let port = format!("p{n}");
            run_ok(
                "ip",
                &[
                    "link",
                    "add",
                    "eth0",
                    "netns",
                    node.name(),
                    "type",
                    "veth",
                    "peer",
                    "name",
                    &port,
                    "netns",
                    switch.name(),
                ],
            );
            ip(&switch, &format!("link set {port} master br0 up"));
            ip(node, &format!("addr add {addr}/24 dev eth0"));
            ip(node, "link set eth0 up");
        }
        ip(&director, &format!("addr add {VIP}/32 dev eth0"));
        let servers = rs
            .iter()
            .enumerate()
            .map(|(i, r)| Httpd::start(r, &format!("rs{}", i + 1)))
            .collect();
        LanLab {
            servers,
            client,
            director,
            rs,
            switch,
        }
    }

    /// The lecture's real-server side of DR and TUN: the VIP on `dev` (`lo` for direct routing,
    /// `tunl0` for tunnelling), `arp_ignore=1` and `arp_announce=2` so that only the director
    /// answers ARP for it, and no reverse-path filter (tunnelled requests come in on `tunl0`).
    pub fn real_servers_own_the_vip(&self, dev: &str) {
        for r in &self.rs {
            ip(r, &format!("link set {dev} up"));
            ip(r, &format!("addr add {VIP}/32 dev {dev}"));
            for conf in ["all", "eth0"] {
                sysctl(r, &format!("net.ipv4.conf.{conf}.arp_ignore"), "1");
                sysctl(r, &format!("net.ipv4.conf.{conf}.arp_announce"), "2");
            }
            for conf in ["all", "default", "eth0", dev] {
                sysctl(r, &format!("net.ipv4.conf.{conf}.rp_filter"), "0");
            }
        }
    }
}
