#!/usr/bin/env bash
# MessagePack entries: every parameter type binds as its SQLite type (a
# bin as a blob, byte for byte, NULs included), an "id" key is honoured
# across formats, and malformed MessagePack fails with its reason.
. "$(dirname "$0")/lib.sh"
: "${MKMSGPACK:?MKMSGPACK must point at the mkmsgpack helper}"

hq_sql "CREATE TABLE m(k TEXT PRIMARY KEY, i, t, b, n, r);
	CREATE TABLE once(v INTEGER)"
mkdir -p "$ROOT/.tmp" "$ROOT/pending"
mp() {		# mp NAME [mkmsgpack args...]
	local name=$1
	shift
	"$MKMSGPACK" "$@" >"$ROOT/.tmp/$name"
}
ins='INSERT INTO m(k, i, t, b, n, r) VALUES (?, ?, ?, ?, ?, ?)'
mp 5_1.msgpack "$ins" a 42 hello bin:00ff10 null real:2.5
# 1000 bytes 0x00..0xff repeating, NULs included.
blob=$(perl -e 'print map { sprintf "%02x", $_ % 256 } 0 .. 999')
mp 5_2.msgpack "$ins" b -9223372036854775808 "héllo wörld" "bin:$blob" null real:-0.125
mp 5_3.msgpack "$ins" c 9223372036854775807 str:123 bin: null 7
# Several statements, parameters consumed left to right.
mp 5_4.msgpack 'INSERT INTO once(v) VALUES (?); INSERT INTO once(v) VALUES (?)' 1 2
# One idempotency key for three entries, in both formats: applied once.
mp 5_5.msgpack --id shared-key --op insert_once 'INSERT INTO once(v) VALUES (?)' 3
mp 5_6.msgpack --id shared-key 'INSERT INTO once(v) VALUES (?)' 4
printf '{"id":"shared-key","sql":"INSERT INTO once(v) VALUES (5)"}' \
    >"$ROOT/.tmp/5_7.json"
# Malformed.
mp 5_8.msgpack --not-a-map 'INSERT INTO once(v) VALUES (8)'
mp 5_9.msgpack 'INSERT INTO once(v) VALUES (?)' 9
head -c -1 "$ROOT/.tmp/5_9.msgpack" >"$ROOT/.tmp/5_9.tmp" &&
    mv "$ROOT/.tmp/5_9.tmp" "$ROOT/.tmp/5_9.msgpack"
mp 5_10.msgpack 'INSERT INTO once(v) VALUES (?)' 10 11
{ cat "$ROOT/.tmp/5_4.msgpack"; printf 'x'; } >"$ROOT/.tmp/5_11.msgpack"

hq_publish
hq_start --workers 1
hq__done() {
	[ "$(hq_count_entries pending)" -eq 0 ] &&
	    [ "$(hq_count_entries processing)" -eq 0 ] &&
	    [ "$(find "$ROOT/failed" -name '*.err' | wc -l)" -eq 4 ]
}
hq_wait 20 "the entries settled" hq__done

assert_eq "$(hq_sql "SELECT k, typeof(i), i, typeof(t), t, typeof(b), length(b),
	hex(b), typeof(n), typeof(r), r FROM m WHERE k = 'a'")" \
    "a|integer|42|text|hello|blob|3|00FF10|null|real|2.5" "row a"
assert_eq "$(hq_sql "SELECT i, t, length(t), typeof(b), length(b), r
	FROM m WHERE k = 'b'")" \
    "-9223372036854775808|héllo wörld|11|blob|1000|-0.125" "row b"
assert_eq "$(hq_sql "SELECT lower(hex(b)) FROM m WHERE k = 'b'")" "$blob" \
    "row b: blob bytes"
assert_eq "$(hq_sql "SELECT i, typeof(t), t, typeof(b), length(b), typeof(r), r
	FROM m WHERE k = 'c'")" \
    "9223372036854775807|text|123|blob|0|integer|7" "row c"
assert_eq "$(hq_sql "SELECT group_concat(v) FROM
	(SELECT v FROM once ORDER BY v)")" \
    "1,2,3" "rows of once (shared id applied once)"
assert_eq "$(hq_log_count 'id shared-key already applied, skipped')" 2 \
    "entries skipped for their id"
assert_eq "$(hq_sql "SELECT count(*) FROM hq_ledger WHERE id = 'shared-key'")" 1 \
    "ledger row for the shared id"
assert_failed 5_8.msgpack 'map'
assert_failed 5_9.msgpack 'end of input|exceeds input'
assert_failed 5_10.msgpack 'params'
assert_failed 5_11.msgpack 'trailing'
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
note "MessagePack: int, str, bin, nil, float bound by type; ids honoured"
