#!/usr/bin/env bash
# One hqd per root: a second one, however the root is spelled, exits 75 at
# once naming the first one's pid, and disturbs nothing; the first goes on
# working. Once the first is gone, a new one starts.
. "$(dirname "$0")/lib.sh"

hq_sql "CREATE TABLE t(v INTEGER)"
# A long busy timeout: the entry below waits for the lock in one attempt.
hq_start --workers 1 --busy-timeout 60000
assert_eq "$(cat "$ROOT/.hqd.lock")" "$HQ_PID" ".hqd.lock contents"
# A first entry, so that the worker's connection (and WAL mode) is set up
# before the lock is taken.
hq_drop "$(hq_name)" '{"sql":"INSERT INTO t(v) VALUES (0)"}'
hq_wait_sql 10 "SELECT count(*) FROM t" 1
# An entry the first one holds in processing/ while the second one runs:
# the second must not "recover" it.
hq_hold
hq_drop "$(hq_name)" '{"sql":"INSERT INTO t(v) VALUES (1)"}'
hq__held() { [ "$(hq_count processing)" -eq 1 ]; }
hq_wait 10 "the entry claimed" hq__held

ln -s "$ROOT" "$T/alias"
for root in "$ROOT" "$ROOT/" "$T/alias" "$T/./queue"; do
	t0=$(date +%s%N)
	hq_run --root "$root" --db "$DB"
	ms=$((($(date +%s%N) - t0) / 1000000))
	assert_eq "$HQ_RC" 75 "second hqd on $root: exit status"
	assert_match "$(cat "$T/run.err")" "is held by hqd pid $HQ_PID\$" \
	    "second hqd on $root: message"
	[ "$ms" -lt 5000 ] || fail "second hqd on $root took $ms ms to give up"
	assert_eq "$(hq_count processing)" 1 "processing/ after the second hqd"
	assert_eq "$(cat "$ROOT/.hqd.lock")" "$HQ_PID" \
	    ".hqd.lock after the second hqd"
done
# The same through the environment.
HQ_RC=0
QUEUE_BASE_DIR=$ROOT HIVE_DB=$DB timeout 10 "$HQD" >/dev/null 2>"$T/run.err" ||
    HQ_RC=$?
assert_eq "$HQ_RC" 75 "second hqd via QUEUE_BASE_DIR: exit status"
assert_match "$(cat "$T/run.err")" "is held by hqd pid $HQ_PID" \
    "second hqd via QUEUE_BASE_DIR: message"

hq_release
hq_wait_sql 10 "SELECT count(*) FROM t" 2
hq_wait_drained 10
kill -0 "$HQ_PID" || fail "the first hqd died"
hq_drop "$(hq_name)" '{"sql":"INSERT INTO t(v) VALUES (2)"}'
hq_wait_sql 10 "SELECT group_concat(v) FROM t" "0,1,2"
hq_stop TERM
assert_eq "$HQ_RC" 0 "first hqd: exit status"

hq_start --workers 1
hq_stop TERM
assert_eq "$HQ_RC" 0 "a new hqd after the first one: exit status"
note "second hqd refused with 75 naming the first; the first went on"
