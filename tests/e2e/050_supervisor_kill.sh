#!/usr/bin/env bash
# hqd (the supervisor) SIGKILLed during a backlog: its workers die with it
# (no orphan goes on claiming), the lock dies too, and a restarted hqd
# recovers what was in processing/ and finishes the job: every entry
# applied exactly once.
. "$(dirname "$0")/lib.sh"

N=${HQ_E2E_N:-5000}
hq_sql "CREATE TABLE t(v INTEGER)"	# no unique key: doubles would show
hq_start --workers 2 --batch-size 25
hq__two_workers() { [ "$(hq_live_workers | wc -l)" -eq 2 ]; }
hq_wait 10 "two workers" hq__two_workers
hq_gen "$N" t
# Published while the workers are frozen: the backlog moves only when
# hq_advance lets it, and the crash comes with the workers mid-batch.
hq_freeze
hq_publish
hq_advance $((N / 4)) "$N"

workers=$(hq_live_workers)
first=$HQ_PID
hq_crash
hq_wait 2 "the workers to die with hqd" hq__all_gone $workers
held=$(hq_count processing)
rows=$(hq_sql "SELECT count(*) FROM t")
[ "$rows" -lt "$N" ] || fail "the backlog was done before the crash"
[ "$(pgrep -f -- "-W [0-9]+:[0-9]+:$first\$" | wc -l)" -eq 0 ] ||
    fail "a worker of hqd $first survives"

hq_log_mark
hq_start --workers 2
if [ "$held" -gt 0 ]; then
	assert_eq \
	    "$(hq_log_count_since "hqd: recovered $held entries left in processing/")" 1 \
	    "recovery at start"
fi
hq_wait_sql 60 "SELECT count(*) FROM t" "$N"
hq_wait_drained 10
hq_assert_once t "$N"
assert_eq "$(hq_sql "SELECT count(*) FROM hq_ledger")" "$N" "ledger rows"
assert_eq "$(hq_count failed)" 0 "failed/"
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
assert_eq "$(hq_count processing)" 0 "processing/ after exit"
note "hqd killed after $rows of $N ($held in processing/): workers died" \
    "with it, restart finished exactly once"

# Again with the workers stuck inside a batch (the database locked by
# another process, a 30 s busy timeout): they must not wait for SQLite to
# give up, let alone commit after their supervisor is gone.
hq_hold
hq_gen 100 t 5 $((N + 1))
hq_publish
hq_start --workers 2 --busy-timeout 30000
hq__stuck() { [ "$(hq_count processing)" -gt 0 ]; }
hq_wait 10 "workers holding entries" hq__stuck
workers=$(hq_live_workers)
hq_crash
hq_wait 2 "the stuck workers to die with hqd" hq__all_gone $workers
hq_release
assert_eq "$(hq_sql "SELECT count(*) FROM t")" "$N" "rows after the second crash"
hq_start --workers 2
hq_wait_sql 30 "SELECT count(*) FROM t" $((N + 100))
hq_wait_drained 10
hq_assert_once t $((N + 100))
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
note "hqd killed while its workers waited on a lock: they died with it"
