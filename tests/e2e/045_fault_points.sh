#!/usr/bin/env bash
# Crash points of a batch. HQ_FAULT=point makes a worker SIGKILL itself
# there (and every respawned one again, so each run is stopped and hqd
# restarted without the fault). Every entry ends applied exactly once.
#  1. Each point with the supervisor alive: it returns the dead worker's
#     files to pending/ at once; the restart applies what is missing and
#     skips (ledger) what was committed.
#  2. before_commit and after_commit with the supervisor frozen and then
#     SIGKILLed with its worker (a host crash): the files stay in
#     processing/ and the restart recovers them.
. "$(dirname "$0")/lib.sh"

K=20

# restart_and_check POINT DUPS: start hqd without the fault and check that
# every entry is applied once and that DUPS were skipped by the ledger.
restart_and_check() {
	hq_log_mark
	hq_start --workers 1
	hq_wait_sql 20 "SELECT count(*) FROM t" "$K"
	hq_wait_drained 10
	hq_assert_once t "$K"
	assert_eq "$(hq_sql "SELECT count(*) FROM hq_ledger")" "$K" \
	    "$1: ledger rows"
	assert_eq "$(hq_count failed)" 0 "$1: failed/"
	assert_eq "$(hq_log_count_since 'already applied, skipped')" "$2" \
	    "$1: entries skipped by the ledger after the restart"
	hq_stop TERM
	assert_eq "$HQ_RC" 0 "$1: exit status"
	assert_eq "$(hq_count processing)" 0 "$1: processing/ at exit"
}

# Part 1. point: rows committed when the worker died, files it held (the
# supervisor returns them), rows the restart finds in the ledger.
for spec in after_claim:0:$K:0 after_claim_one:0:1:0 before_commit:0:$K:0 \
    after_commit:$K:$K:$K before_done:$K:$K:$K after_finish:$K:0:0; do
	IFS=: read -r point rows held dups <<<"$spec"
	ROOT=$T/q-$point DB=$T/$point.db LOG=$T/$point.log
	hq_sql "CREATE TABLE t(v INTEGER)"
	hq_gen "$K" t
	hq_publish
	HQ_FAULT=$point hq_start --workers 1
	hq_wait_log 10 "hqd worker 0: fault point $point reached"
	hq_wait_log 5 "hqd: worker 0 \(pid [0-9]+\) killed by signal 9"
	if [ "$held" -gt 0 ]; then
		hq_wait_log 5 "hqd: worker 0: returned $held entries to pending/"
	fi
	assert_eq "$(hq_sql "SELECT count(*) FROM t")" "$rows" \
	    "$point: rows committed when the worker died"
	# Stopped now: a respawned worker would die at the same point.
	hq_stop_within 15 TERM
	assert_eq "$HQ_RC" 0 "$point: exit status with the fault"
	assert_eq "$(hq_count processing)" 0 "$point: processing/ at exit"
	assert_eq "$(hq_count failed)" 0 "$point: failed/ at exit"
	left=$((rows == K && held == 0 ? 0 : K))
	assert_eq "$(hq_count_entries pending)" "$left" \
	    "$point: pending/ at exit"
	restart_and_check "$point" "$dups"
	note "$point: $K entries exactly once ($held returned, $dups skipped)"
done

# Part 2. The worker holds the batch, blocked on a lock another process
# holds; the supervisor is frozen (it can neither reap nor requeue), the
# lock goes, the worker dies at the point, the supervisor is SIGKILLed.
for spec in before_commit:0:0 after_commit:$K:$K; do
	IFS=: read -r point rows dups <<<"$spec"
	ROOT=$T/host-$point DB=$T/host-$point.db LOG=$T/host-$point.log
	hq_sql "PRAGMA journal_mode=WAL; CREATE TABLE t(v INTEGER)" >/dev/null
	hq_hold
	hq_gen "$K" t
	hq_publish
	HQ_FAULT=$point hq_start --workers 1 --busy-timeout 30000
	hq__claimed() { [ "$(hq_count processing)" -eq "$K" ]; }
	hq_wait 10 "the batch claimed" hq__claimed
	kill -STOP "$HQ_PID"
	worker=$(hq_workers)
	hq_release
	hq_wait_log 10 "hqd worker 0: fault point $point reached"
	hq_wait 5 "the worker to die" hq_gone "$worker"
	kill -KILL "$HQ_PID"
	wait "$HQ_PID" 2>/dev/null || true
	HQ_PID=
	assert_eq "$(hq_sql "SELECT count(*) FROM t")" "$rows" \
	    "host $point: rows committed at the crash"
	assert_eq "$(hq_count processing)" "$K" \
	    "host $point: files left in processing/"
	restart_and_check "host $point" "$dups"
	assert_eq \
	    "$(hq_log_count_since "hqd: recovered $K entries left in processing/")" 1 \
	    "host $point: recovery at start"
	note "host crash at $point: $K recovered from processing/, exactly once"
done
