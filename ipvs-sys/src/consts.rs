//! Every constant of the kernel's `include/uapi/linux/ip_vs.h`, plus the few
//! generic-netlink and socket constants the wire layer needs.
//!
//! Names follow the C header so they can be grepped side by side.

/// Generic-netlink family name of IPVS.
pub const IPVS_GENL_NAME: &str = "IPVS";
/// Generic-netlink family version the kernel registers and we speak.
pub const IPVS_GENL_VERSION: u8 = 0x1;
/// Version code the kernel reports in `IPVS_INFO_ATTR_VERSION` (1.2.1).
pub const IP_VS_VERSION_CODE: u32 = 0x010201;

// Commands (enum ipvs_cmd_id).
/// Unused command 0.
pub const IPVS_CMD_UNSPEC: u8 = 0;
/// Add a virtual service.
pub const IPVS_CMD_NEW_SERVICE: u8 = 1;
/// Modify a virtual service.
pub const IPVS_CMD_SET_SERVICE: u8 = 2;
/// Delete a virtual service.
pub const IPVS_CMD_DEL_SERVICE: u8 = 3;
/// Get one service (doit) or dump all (dumpit).
pub const IPVS_CMD_GET_SERVICE: u8 = 4;
/// Add a destination (real server).
pub const IPVS_CMD_NEW_DEST: u8 = 5;
/// Modify a destination.
pub const IPVS_CMD_SET_DEST: u8 = 6;
/// Delete a destination.
pub const IPVS_CMD_DEL_DEST: u8 = 7;
/// Dump the destinations of one service.
pub const IPVS_CMD_GET_DEST: u8 = 8;
/// Start a connection-sync daemon.
pub const IPVS_CMD_NEW_DAEMON: u8 = 9;
/// Stop a connection-sync daemon.
pub const IPVS_CMD_DEL_DAEMON: u8 = 10;
/// Dump the running sync daemons.
pub const IPVS_CMD_GET_DAEMON: u8 = 11;
/// Set the TCP, TCP-FIN and UDP timeouts (old name `IPVS_CMD_SET_TIMEOUT`).
pub const IPVS_CMD_SET_CONFIG: u8 = 12;
/// Get the timeouts (old name `IPVS_CMD_GET_TIMEOUT`).
pub const IPVS_CMD_GET_CONFIG: u8 = 13;
/// Reply command of `IPVS_CMD_GET_INFO`.
pub const IPVS_CMD_SET_INFO: u8 = 14;
/// Get the version and connection-table size.
pub const IPVS_CMD_GET_INFO: u8 = 15;
/// Zero the counters of one service, or of all when no service is given.
pub const IPVS_CMD_ZERO: u8 = 16;
/// Delete every service.
pub const IPVS_CMD_FLUSH: u8 = 17;

// Top-level attributes (IPVS_CMD_ATTR_*).
/// Nested service attributes.
pub const IPVS_CMD_ATTR_SERVICE: u16 = 1;
/// Nested destination attributes.
pub const IPVS_CMD_ATTR_DEST: u16 = 2;
/// Nested sync-daemon attributes.
pub const IPVS_CMD_ATTR_DAEMON: u16 = 3;
/// TCP timeout, u32 seconds.
pub const IPVS_CMD_ATTR_TIMEOUT_TCP: u16 = 4;
/// TCP FIN_WAIT timeout, u32 seconds.
pub const IPVS_CMD_ATTR_TIMEOUT_TCP_FIN: u16 = 5;
/// UDP timeout, u32 seconds.
pub const IPVS_CMD_ATTR_TIMEOUT_UDP: u16 = 6;

// Service attributes (IPVS_SVC_ATTR_*).
/// Address family, u16 host order.
pub const IPVS_SVC_ATTR_AF: u16 = 1;
/// Protocol (6, 17, 132), u16 host order.
pub const IPVS_SVC_ATTR_PROTOCOL: u16 = 2;
/// Virtual address, up to 16 bytes (`union nf_inet_addr`).
pub const IPVS_SVC_ATTR_ADDR: u16 = 3;
/// Virtual port, big-endian u16.
pub const IPVS_SVC_ATTR_PORT: u16 = 4;
/// Firewall mark, u32 host order.
pub const IPVS_SVC_ATTR_FWMARK: u16 = 5;
/// Scheduler name, NUL-terminated string.
pub const IPVS_SVC_ATTR_SCHED_NAME: u16 = 6;
/// `struct ip_vs_flags { flags, mask }`, host order.
pub const IPVS_SVC_ATTR_FLAGS: u16 = 7;
/// Persistence timeout, u32 seconds.
pub const IPVS_SVC_ATTR_TIMEOUT: u16 = 8;
/// Persistence netmask: be32 mask for IPv4, prefix length for IPv6.
pub const IPVS_SVC_ATTR_NETMASK: u16 = 9;
/// Nested 32-bit statistics.
pub const IPVS_SVC_ATTR_STATS: u16 = 10;
/// Persistence engine name, NUL-terminated string.
pub const IPVS_SVC_ATTR_PE_NAME: u16 = 11;
/// Nested 64-bit statistics (kernel 4.1+).
pub const IPVS_SVC_ATTR_STATS64: u16 = 12;

// Destination attributes (IPVS_DEST_ATTR_*).
/// Real-server address, up to 16 bytes.
pub const IPVS_DEST_ATTR_ADDR: u16 = 1;
/// Real-server port, big-endian u16.
pub const IPVS_DEST_ATTR_PORT: u16 = 2;
/// Forwarding method (`IP_VS_CONN_F_*`), u32.
pub const IPVS_DEST_ATTR_FWD_METHOD: u16 = 3;
/// Weight, u32 (an int in the kernel).
pub const IPVS_DEST_ATTR_WEIGHT: u16 = 4;
/// Upper connection threshold, u32.
pub const IPVS_DEST_ATTR_U_THRESH: u16 = 5;
/// Lower connection threshold, u32.
pub const IPVS_DEST_ATTR_L_THRESH: u16 = 6;
/// Active connections, u32 (output only).
pub const IPVS_DEST_ATTR_ACTIVE_CONNS: u16 = 7;
/// Inactive connections, u32 (output only).
pub const IPVS_DEST_ATTR_INACT_CONNS: u16 = 8;
/// Persistent connections, u32 (output only).
pub const IPVS_DEST_ATTR_PERSIST_CONNS: u16 = 9;
/// Nested 32-bit statistics.
pub const IPVS_DEST_ATTR_STATS: u16 = 10;
/// Destination address family, u16 (kernel 3.18+).
pub const IPVS_DEST_ATTR_ADDR_FAMILY: u16 = 11;
/// Nested 64-bit statistics (kernel 4.1+).
pub const IPVS_DEST_ATTR_STATS64: u16 = 12;
/// Tunnel type (`IP_VS_CONN_F_TUNNEL_TYPE_*`), u8 (kernel 5.2+).
pub const IPVS_DEST_ATTR_TUN_TYPE: u16 = 13;
/// Tunnel (GUE) port, big-endian u16 (kernel 5.2+).
pub const IPVS_DEST_ATTR_TUN_PORT: u16 = 14;
/// Tunnel flags (`IP_VS_TUNNEL_ENCAP_FLAG_*`), u16 host order (kernel 5.3+).
pub const IPVS_DEST_ATTR_TUN_FLAGS: u16 = 15;

// Sync daemon attributes (IPVS_DAEMON_ATTR_*).
/// Daemon state, u32 (`IP_VS_STATE_MASTER` or `IP_VS_STATE_BACKUP`).
pub const IPVS_DAEMON_ATTR_STATE: u16 = 1;
/// Multicast interface name, NUL-terminated string.
pub const IPVS_DAEMON_ATTR_MCAST_IFN: u16 = 2;
/// Sync id, u32.
pub const IPVS_DAEMON_ATTR_SYNC_ID: u16 = 3;
/// Maximum sync message length, u16 host order (kernel 4.3+).
pub const IPVS_DAEMON_ATTR_SYNC_MAXLEN: u16 = 4;
/// IPv4 multicast group, 4 bytes network order (kernel 4.3+).
pub const IPVS_DAEMON_ATTR_MCAST_GROUP: u16 = 5;
/// IPv6 multicast group, 16 bytes (kernel 4.3+).
pub const IPVS_DAEMON_ATTR_MCAST_GROUP6: u16 = 6;
/// Multicast port, u16 host order (kernel 4.3+).
pub const IPVS_DAEMON_ATTR_MCAST_PORT: u16 = 7;
/// Multicast TTL, u8 (kernel 4.3+).
pub const IPVS_DAEMON_ATTR_MCAST_TTL: u16 = 8;

// Statistics attributes (IPVS_STATS_ATTR_*).
/// Connections scheduled.
pub const IPVS_STATS_ATTR_CONNS: u16 = 1;
/// Incoming packets.
pub const IPVS_STATS_ATTR_INPKTS: u16 = 2;
/// Outgoing packets.
pub const IPVS_STATS_ATTR_OUTPKTS: u16 = 3;
/// Incoming bytes (u64 even in the 32-bit set).
pub const IPVS_STATS_ATTR_INBYTES: u16 = 4;
/// Outgoing bytes (u64 even in the 32-bit set).
pub const IPVS_STATS_ATTR_OUTBYTES: u16 = 5;
/// Connections per second.
pub const IPVS_STATS_ATTR_CPS: u16 = 6;
/// Incoming packets per second.
pub const IPVS_STATS_ATTR_INPPS: u16 = 7;
/// Outgoing packets per second.
pub const IPVS_STATS_ATTR_OUTPPS: u16 = 8;
/// Incoming bytes per second.
pub const IPVS_STATS_ATTR_INBPS: u16 = 9;
/// Outgoing bytes per second.
pub const IPVS_STATS_ATTR_OUTBPS: u16 = 10;
/// Alignment padding for 64-bit values.
pub const IPVS_STATS_ATTR_PAD: u16 = 11;

// Info attributes (IPVS_INFO_ATTR_*), top level of an IPVS_CMD_SET_INFO reply.
/// Version code, u32.
pub const IPVS_INFO_ATTR_VERSION: u16 = 1;
/// Connection hash table size, u32.
pub const IPVS_INFO_ATTR_CONN_TAB_SIZE: u16 = 2;

// Service flags.
/// Persistent service.
pub const IP_VS_SVC_F_PERSISTENT: u32 = 0x0001;
/// Service is hashed (kernel-internal, reported back).
pub const IP_VS_SVC_F_HASHED: u32 = 0x0002;
/// One-packet scheduling.
pub const IP_VS_SVC_F_ONEPACKET: u32 = 0x0004;
/// Scheduler flag 1.
pub const IP_VS_SVC_F_SCHED1: u32 = 0x0008;
/// Scheduler flag 2.
pub const IP_VS_SVC_F_SCHED2: u32 = 0x0010;
/// Scheduler flag 3.
pub const IP_VS_SVC_F_SCHED3: u32 = 0x0020;
/// sh scheduler: fall back when the chosen server is unavailable.
pub const IP_VS_SVC_F_SCHED_SH_FALLBACK: u32 = IP_VS_SVC_F_SCHED1;
/// sh scheduler: hash the source port too.
pub const IP_VS_SVC_F_SCHED_SH_PORT: u32 = IP_VS_SVC_F_SCHED2;
/// mh scheduler: fall back when the chosen server is unavailable.
pub const IP_VS_SVC_F_SCHED_MH_FALLBACK: u32 = IP_VS_SVC_F_SCHED1;
/// mh scheduler: hash the source port too.
pub const IP_VS_SVC_F_SCHED_MH_PORT: u32 = IP_VS_SVC_F_SCHED2;

// Destination state flags.
/// Destination is available.
pub const IP_VS_DEST_F_AVAILABLE: u32 = 0x0001;
/// Destination is overloaded (above its upper threshold).
pub const IP_VS_DEST_F_OVERLOAD: u32 = 0x0002;

// Sync daemon states.
/// No daemon.
pub const IP_VS_STATE_NONE: u32 = 0x0000;
/// Master sync daemon.
pub const IP_VS_STATE_MASTER: u32 = 0x0001;
/// Backup sync daemon.
pub const IP_VS_STATE_BACKUP: u32 = 0x0002;

// Forwarding methods.
/// Mask of the forwarding-method bits in a connection's flags.
pub const IP_VS_CONN_F_FWD_MASK: u32 = 0x0007;
/// Masquerading (NAT).
pub const IP_VS_CONN_F_MASQ: u32 = 0x0000;
/// Local node.
pub const IP_VS_CONN_F_LOCALNODE: u32 = 0x0001;
/// IP tunnelling.
pub const IP_VS_CONN_F_TUNNEL: u32 = 0x0002;
/// Direct routing.
pub const IP_VS_CONN_F_DROUTE: u32 = 0x0003;
/// Cache bypass.
pub const IP_VS_CONN_F_BYPASS: u32 = 0x0004;

// Tunnel types.
/// IP-in-IP.
pub const IP_VS_CONN_F_TUNNEL_TYPE_IPIP: u8 = 0;
/// Generic UDP encapsulation.
pub const IP_VS_CONN_F_TUNNEL_TYPE_GUE: u8 = 1;
/// Generic routing encapsulation.
pub const IP_VS_CONN_F_TUNNEL_TYPE_GRE: u8 = 2;
/// Number of tunnel types.
pub const IP_VS_CONN_F_TUNNEL_TYPE_MAX: u8 = 3;

// Tunnel encapsulation flags.
/// No checksum.
pub const IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM: u16 = 0;
/// Checksum.
pub const IP_VS_TUNNEL_ENCAP_FLAG_CSUM: u16 = 1 << 0;
/// Remote checksum offload.
pub const IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM: u16 = 1 << 1;

// Lengths.
/// Scheduler name buffer, NUL included.
pub const IP_VS_SCHEDNAME_MAXLEN: usize = 16;
/// Persistence engine name buffer, NUL included.
pub const IP_VS_PENAME_MAXLEN: usize = 16;
/// Interface name buffer, NUL included.
pub const IP_VS_IFNAME_MAXLEN: usize = 16;
/// Persistence engine data, bytes.
pub const IP_VS_PEDATA_MAXLEN: usize = 255;

// Address families, as the kernel spells them.
/// IPv4 (`AF_INET`).
pub const AF_INET: u16 = 2;
/// IPv6 (`AF_INET6`).
pub const AF_INET6: u16 = 10;

// Generic netlink controller.
/// Fixed family id of the generic-netlink controller.
pub const GENL_ID_CTRL: u16 = 0x10;
/// Controller command: get a family by name.
pub const CTRL_CMD_GETFAMILY: u8 = 3;
/// Controller reply command.
pub const CTRL_CMD_NEWFAMILY: u8 = 1;
/// Controller attribute: family id (u16).
pub const CTRL_ATTR_FAMILY_ID: u16 = 1;
/// Controller attribute: family name (string).
pub const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// Controller attribute: family version (u32).
pub const CTRL_ATTR_VERSION: u16 = 3;

// Socket options and ext-ack attributes not all libc versions export.
/// Attribute in an extended ACK: human-readable error text.
pub const NLMSGERR_ATTR_MSG: u16 = 1;
/// Attribute in an extended ACK: offset of the offending attribute.
pub const NLMSGERR_ATTR_OFFS: u16 = 2;
