# tests/perf/gen.awk: the rules of one benchmark set, as `ipvsadm -S -n` would print them, in the
# order tests/perf/floor.c sends the same objects (keep the two in step).
#   awk -v services=N -v dests=M -v pattern=spread|onechain -v fw=F -f tests/perf/gen.awk
# N TCP services (wrr) on port 80 with M masquerading destinations each (port 8080, weight 1),
# then, when F > 0, one fwmark service (mark 1, rr) with F destinations. VIPs: spread gives
# 10.0.0.1, 10.0.0.2, ... (the low byte varies, as real VIPs do); onechain gives 10.a.b.1, which
# all fall into one chain of the kernel's 256-bucket service hash. Real servers: 172.16.0.1 up.
function ip(n) { return int(n / 16777216) % 256 "." int(n / 65536) % 256 "." int(n / 256) % 256 "." n % 256 }
function vip(i) {
  if (pattern == "onechain") return "10." (int(i / 250) + 1) % 256 "." (i % 250 + 1) ".1"
  return ip(167772160 + i + 1)
}
BEGIN {
  rip = 2886729728 # 172.16.0.0
  for (i = 0; i < services; i++) {
    v = vip(i) ":80"
    print "-A -t " v " -s wrr"
    for (j = 0; j < dests; j++) print "-a -t " v " -r " ip(rip + i * dests + j + 1) ":8080 -m -w 1"
  }
  if (fw > 0) {
    print "-A -f 1 -s rr"
    for (j = 0; j < fw; j++) print "-a -f 1 -r " ip(rip + services * dests + j + 1) ":0 -m -w 1"
  }
}
