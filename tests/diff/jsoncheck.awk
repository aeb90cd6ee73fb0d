# jsoncheck.awk: is the input exactly one JSON document (RFC 8259)? Exits 0 if so; otherwise
# prints what is wrong and where, and exits 1. For the VM, which has busybox awk and no jq:
#   awk -f jsoncheck.awk FILE
# It checks syntax only (not the schema), allows any whitespace between tokens, and rejects
# trailing text, control characters in strings, bad escapes and bad numbers.
{ s = s $0 "\n" }

function fail(m) {
  if (!bad) { bad = 1; msg = m " at byte " p }
  return 0
}

function ws() {
  while (p <= n && index(" \t\r\n", substr(s, p, 1)) > 0) p++
}

function value(  c) {
  ws()
  if (p > n) return fail("unexpected end of input")
  c = substr(s, p, 1)
  if (c == "{") return object()
  if (c == "[") return array()
  if (c == "\"") return string()
  if (c == "-" || (c >= "0" && c <= "9")) return number()
  if (substr(s, p, 4) == "true") { p += 4; return 1 }
  if (substr(s, p, 5) == "false") { p += 5; return 1 }
  if (substr(s, p, 4) == "null") { p += 4; return 1 }
  return fail("unexpected character '" c "'")
}

function object(  c) {
  p++
  ws()
  if (substr(s, p, 1) == "}") { p++; return 1 }
  while (1) {
    ws()
    if (substr(s, p, 1) != "\"") return fail("expected a string key")
    if (!string()) return 0
    ws()
    if (substr(s, p, 1) != ":") return fail("expected ':'")
    p++
    if (!value()) return 0
    ws()
    c = substr(s, p, 1)
    if (c == ",") { p++; continue }
    if (c == "}") { p++; return 1 }
    return fail("expected ',' or '}'")
  }
}

function array(  c) {
  p++
  ws()
  if (substr(s, p, 1) == "]") { p++; return 1 }
  while (1) {
    if (!value()) return 0
    ws()
    c = substr(s, p, 1)
    if (c == ",") { p++; continue }
    if (c == "]") { p++; return 1 }
    return fail("expected ',' or ']'")
  }
}

function string(  c, h) {
  p++
  while (p <= n) {
    c = substr(s, p, 1)
    if (c == "\"") { p++; return 1 }
    if (c == "\\") {
      c = substr(s, p + 1, 1)
      if (c == "u") {
        h = substr(s, p + 2, 4)
        if (h !~ /^[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]$/) return fail("bad \\u escape")
        p += 6
        continue
      }
      if (index("\"\\/bfnrt", c) == 0 || c == "") return fail("bad escape")
      p += 2
      continue
    }
    if (index(ctl, c) > 0) return fail("control character in a string")
    p++
  }
  return fail("unterminated string")
}

function number(  t) {
  t = substr(s, p, 64)
  if (match(t, /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/)) {
    p += RLENGTH
    return 1
  }
  return fail("bad number")
}

END {
  for (i = 1; i < 32; i++) ctl = ctl sprintf("%c", i)
  n = length(s)
  p = 1
  bad = 0
  if (value()) {
    ws()
    if (p <= n) fail("trailing text after the document")
  }
  if (bad) { print "jsoncheck: " msg; exit 1 }
  exit 0
}
