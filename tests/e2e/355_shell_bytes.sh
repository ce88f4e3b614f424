#!/usr/bin/env bash
# Entries carry bytes (issue 15): a hook cuts a description with `head -c`
# in the middle of a character, and the write lands with the same bytes as
# the same SQL run by the sqlite3 command (hex() of both compared): through
# queue_db_write, queue_insert_log, and hqctl enqueue's --param, --op and
# --id. Before, queue_db_write returned 1 ("sql is not valid UTF-8") and the
# row was lost. Valid UTF-8 is unchanged, and nothing lands in failed/.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_3xx.sh"
: "${HQ_QUEUE_LIB:?HQ_QUEUE_LIB must point at hqctl/queue-lib.sh}"
if ! command -v sqlite3 >/dev/null 2>&1; then
	note "SKIP: no sqlite3 command to compare with"
	exit 77
fi
export QUEUE_BASE_DIR=$ROOT HIVE_DB=$DB HQD HQCTL HQ_QUEUE_LIB
unset USE_QUEUE QUEUE_WORKER_LOG HQ_QUEUE_LIB_LOADED
t3_lib_trap
REF=$T/ref.db
SCHEMA="CREATE TABLE d(k TEXT PRIMARY KEY, v TEXT);
	CREATE TABLE session_logs(id INTEGER PRIMARY KEY, session_id TEXT,
	    log_level TEXT, message TEXT, data TEXT)"
hq_sql "$SCHEMA"
sqlite3 "$REF" "$SCHEMA"

# Values: cut characters (2, 3 and 4 bytes long, cut after 1, 2, 3 bytes),
# stray continuation and invalid bytes, an overlong NUL, a surrogate, and
# valid UTF-8 for comparison.
desc=$(printf 'Caf\xc3\xa9 na\xc3\xafve \xe2\x9c\x93 \xf0\x9f\x98\x80 end')
vals=(
	"$(printf '%s' "$desc" | head -c 4)"
	"$(printf '%s' "$desc" | head -c 15)"
	"$(printf '%s' "$desc" | head -c 16)"
	"$(printf '%s' "$desc" | head -c 19)"
	"$(printf 'x\x80y\xbf')"
	"$(printf 'bad \xff\xfe bytes')"
	"$(printf 'overlong \xc0\x80 nul')"
	"$(printf 'surrogate \xed\xa0\x80')"
	"$desc"
)
n=${#vals[@]}

# hex VALUE: the bytes as SQLite's hex() prints them.
hex() {
	printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F
}

i=0
for v in "${vals[@]}"; do
	i=$((i + 1))
	sql="INSERT INTO d(k, v) VALUES ('w$i', '$v');"
	sqlite3 "$REF" "$sql" || fail "sqlite3 refused value $i"
	rc=0
	t3_lib queue_db_write "$sql" bytes 5 || rc=$?
	assert_eq "$rc" 0 "queue_db_write of value $i ($(hex "$v")): status"
done
# A log line whose message was cut, as hooks write them.
cut=$(printf '%s' "$desc" | head -c 16)
rc=0
t3_lib queue_insert_log s1 info "cut: $cut" '{"n":1}' || rc=$?
assert_eq "$rc" 0 "queue_insert_log of a cut message: status"
sqlite3 "$REF" "INSERT INTO session_logs (session_id, log_level, message, data)
	VALUES ('s1', 'info', 'cut: $cut', '{\"n\":1}');"
# hqctl: a bound parameter, an operation and an id that are not UTF-8.
for i in $(seq 1 "$n"); do
	t3_run t3_ctl enqueue --param "${vals[$((i - 1))]}" \
		"INSERT INTO d(k, v) VALUES ('p$i', ?)"
	assert_eq "$T3_RC" 0 "hqctl enqueue --param value $i ($(cat "$T/err"))"
	sqlite3 "$REF" "INSERT INTO d(k, v) VALUES ('p$i', '${vals[$((i - 1))]}')"
done
t3_run t3_ctl enqueue --op "$cut" --id "id-$cut" \
	"INSERT INTO d(k, v) VALUES ('op', 'x')"
assert_eq "$T3_RC" 0 "hqctl enqueue --op/--id not UTF-8 ($(cat "$T/err"))"
sqlite3 "$REF" "INSERT INTO d(k, v) VALUES ('op', 'x')"

hq__all_rows() {
	[ "$(hq_sql "SELECT count(*) FROM d")" -eq $((2 * n + 1)) ] &&
	    [ "$(hq_sql "SELECT count(*) FROM session_logs")" -eq 1 ]
}
hq_wait 30 "$((2 * n + 1)) rows in d and a log row" hq__all_rows
hq_wait_drained 30

q="SELECT k, typeof(v), hex(v) FROM d ORDER BY k"
assert_eq "$(hq_sql "$q")" "$(sqlite3 "$REF" "$q")" \
	"rows of d as stored by hq and by sqlite3"
q="SELECT session_id, log_level, hex(message), data FROM session_logs"
assert_eq "$(hq_sql "$q")" "$(sqlite3 "$REF" "$q")" \
	"the log row as stored by hq and by sqlite3"
# and the bytes are the very bytes written, not only equal to sqlite3's
for i in $(seq 1 "$n"); do
	assert_eq "$(hq_sql "SELECT hex(v) FROM d WHERE k = 'w$i'")" \
		"$(hex "${vals[$((i - 1))]}")" "bytes of value $i"
done
assert_eq "$(hq_sql "SELECT hex(id) FROM hq_ledger WHERE id LIKE 'id-%'")" \
	"$(hex "id-$cut")" "the ledger id, not UTF-8"
assert_eq "$(hq_count failed)" 0 "failed/"
if grep -q 'UTF-8' "$ROOT/worker.log"; then
	fail "worker.log speaks of UTF-8: $(grep 'UTF-8' "$ROOT/worker.log")"
fi
note "$n values, cut or not UTF-8, stored as sqlite3 stores them"
