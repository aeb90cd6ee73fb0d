# jsoncheck.awk: is the input exactly one JSON document (RFC 8259)? Exits 0 if so; otherwise
# prints what is wrong and where, and exits 1. For the VM, which has busybox awk and no jq:
#   awk -f jsoncheck.awk FILE
# It checks syntax only (not the schema), allows any whitespace between tokens, and rejects
# trailing text, control characters in strings, bad escapes and bad numbers.
#   awk -v flatten=1 -f jsoncheck.awk FILE
# also prints every scalar as "PATH<TAB>VALUE", e.g. ".services[0].port	80" (strings without
# their quotes, escapes left as they are; empty arrays and objects print nothing).
{ s = s $0 "\n" }

function fail(m) {
  if (!bad) { bad = 1; msg = m " at byte " p }
  return 0
}

function ws() {
  while (p <= n && index(" \t\r\n", substr(s, p, 1)) > 0) p++
}

function leaf(path, text) {
  if (flatten) printf "%s\t%s\n", path, text
  return 1
}

function value(path,  c, q) {
  ws()
  if (p > n) return fail("unexpected end of input")
  c = substr(s, p, 1)
  if (c == "{") return object(path)
  if (c == "[") return array(path)
  if (c == "\"") { q = p; if (!string()) return 0; return leaf(path, substr(s, q + 1, p - q - 2)) }
  if (c == "-" || (c >= "0" && c <= "9")) { q = p; if (!number()) return 0; return leaf(path, substr(s, q, p - q)) }
  if (substr(s, p, 4) == "true") { p += 4; return leaf(path, "true") }
  if (substr(s, p, 5) == "false") { p += 5; return leaf(path, "false") }
  if (substr(s, p, 4) == "null") { p += 4; return leaf(path, "null") }
  return fail("unexpected character '" c "'")
}

function object(path,  c, q, key) {
  p++
  ws()
  if (substr(s, p, 1) == "}") { p++; return 1 }
  while (1) {
    ws()
    if (substr(s, p, 1) != "\"") return fail("expected a string key")
    q = p
    if (!string()) return 0
    key = substr(s, q + 1, p - q - 2)
    ws()
    if (substr(s, p, 1) != ":") return fail("expected ':'")
    p++
    if (!value(path "." key)) return 0
    ws()
    c = substr(s, p, 1)
    if (c == ",") { p++; continue }
    if (c == "}") { p++; return 1 }
    return fail("expected ',' or '}'")
  }
}

function array(path,  c, i) {
  p++
  ws()
  if (substr(s, p, 1) == "]") { p++; return 1 }
  i = 0
  while (1) {
    if (!value(path "[" i++ "]")) return 0
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
  if (value("")) {
    ws()
    if (p <= n) fail("trailing text after the document")
  }
  if (bad) { print "jsoncheck: " msg; exit 1 }
  exit 0
}
