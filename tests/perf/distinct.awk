# distinct.awk: how many different instructions a callgrind file (--dump-instr=yes) saw run,
# valgrind's own preloaded objects left out.
function hex(s,   i, n) { n = 0; s = tolower(substr(s, 3))
  for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
  return n }
/^ob=/ { id = $1; sub(/^ob=/, "", id); if (NF > 1) name[id] = $2; ob = id; next }
/^calls=/ { skip = 1; next }
/^(0x[0-9a-fA-F]+|[+-][0-9]+|\*)[ \t]/ {
  t = $1
  if (t ~ /^0x/) at = hex(t); else if (t != "*") at += t
  if (skip) { skip = 0; next }
  if (name[ob] !~ /vgpreload/) seen[ob SUBSEP at] = 1
}
END { n = 0; for (k in seen) n++; print n }
