#!/usr/bin/env bash
# TERM while the database is locked by another process and the workers
# cannot finish their batches:
#  1. workers between retries (short busy timeout): they stop at once, put
#     their entries back in pending/, hqd exits 0 promptly;
#  2. workers inside SQLite's busy wait (busy timeout longer than the
#     grace): the grace (--shutdown-timeout 1) runs out, hqd kills them,
#     returns their entries and exits 0.
# Either way nothing fails and a restart applies everything once.
. "$(dirname "$0")/lib.sh"

N=50
hq_sql "PRAGMA journal_mode=WAL; CREATE TABLE t(v INTEGER)" >/dev/null

# run_locked NAME FIRST HQD_ARGS...: lock the database, publish N entries
# (values FIRST upward), start hqd, wait until a batch is stuck.
run_locked() {
	local what=$1 first=$2
	shift 2
	hq_hold
	hq_gen "$N" t 5 "$first"
	hq_publish
	hq_log_mark
	hq_start --workers 2 --shutdown-timeout 1 "$@"
	hq__stuck() { [ "$(hq_count processing)" -gt 0 ]; }
	hq_wait 10 "$what: workers holding entries" hq__stuck
}

# 1. Between retries.
run_locked retrying 1 --busy-timeout 100 --retry-base 0.5 --max-retries 1000
hq_wait_log 10 'batch of [0-9]+: .*database is locked'
hq_stop_within 5 TERM
assert_eq "$HQ_RC" 0 "retrying: exit status"
[ "$HQ_STOP_MS" -lt 900 ] ||
    fail "retrying: TERM took $HQ_STOP_MS ms (the grace is 1 s)"
assert_eq "$(hq_log_count_since 'shutdown timeout')" 0 "retrying: grace ran out"
assert_eq "$(hq_count processing)" 0 "retrying: processing/"
assert_eq "$(hq_count failed)" 0 "retrying: failed/"
assert_eq "$(hq_count_entries pending)" "$N" "retrying: pending/"
assert_eq "$(hq_sql "SELECT count(*) FROM t")" 0 "retrying: rows"
hq_release

# 2. Inside the busy wait.
run_locked busy-wait $((N + 1)) --busy-timeout 30000
hq_stop_within 6 TERM
assert_eq "$HQ_RC" 0 "busy-wait: exit status"
[ "$HQ_STOP_MS" -ge 900 ] ||
    fail "busy-wait: exit after $HQ_STOP_MS ms, before the grace"
assert_eq "$(hq_log_count_since 'hqd: shutdown timeout: killing')" 1 \
    "busy-wait: the grace ran out"
assert_eq "$(hq_count processing)" 0 "busy-wait: processing/"
assert_eq "$(hq_count failed)" 0 "busy-wait: failed/"
assert_eq "$(hq_count_entries pending)" $((2 * N)) "busy-wait: pending/"
hq_release

hq_start --workers 2
hq_wait_sql 20 "SELECT count(*) FROM t" $((2 * N))
hq_wait_drained 10
hq_assert_once t $((2 * N))
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
note "TERM with the database locked: prompt between retries, bounded by" \
    "the grace in a busy wait; nothing lost"
