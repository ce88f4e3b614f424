#!/usr/bin/env bash
# A worker SIGKILLed while its remover threads still hold committed files
# to remove (fault point "removing": names queued, not yet removed; one
# remover thread so that the queue is long). The supervisor returns those
# files to pending/, the ledger turns each into a skip: every entry is
# applied exactly once, the counters add up (applied + duplicates = N,
# the skipped ones counted as duplicates), and nothing is left behind.
# Then a clean TERM with removals queued: the worker finishes them before
# it exits.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_3xx.sh"

N=${HQ_E2E_N:-3000}
hq_sql "CREATE TABLE t(v INTEGER)"	# no unique key: doubles would show
hq_gen "$N" t
hq_publish
HQ_REMOVE_THREADS=1 HQ_FAULT=removing:3 HQ_FAULT_ONCE=$T/fired \
    hq_start --workers 2 --batch-size 200
T3_SEGS+=("$(t3_seg_name "$ROOT")")
hq_wait_log 20 "hqd worker [01]: fault point removing reached"
hq_wait_log 5 "hqd: worker [01] \(pid [0-9]+\) killed by signal 9"
hq_wait_log 5 "hqd: worker [01]: returned [0-9]+ entries to pending/"

hq_wait_sql 60 "SELECT count(*) FROM t" "$N"
hq_wait_drained 20
hq_assert_once t "$N"
assert_eq "$(hq_sql "SELECT count(*) FROM hq_ledger")" "$N" "ledger rows"
skipped=$(hq_log_count 'already applied, skipped')
[ "$skipped" -ge 1 ] ||
	fail "no committed file was waiting for removal at the kill"
hq_wait 10 "applied + duplicates = $N" t3__stats_has \
    '$j->{entries_applied} + $j->{entries_duplicate}' "$N"
hq_wait 10 "$skipped duplicates" t3__stats_has '$j->{entries_duplicate}' \
    "$skipped"
assert_eq "$(hq_count processing)" 0 "processing/"
assert_eq "$(hq_count failed)" 0 "failed/"

# TERM right after a burst: whatever the removers hold is removed before
# the workers exit, so nothing is returned to pending/ at exit.
hq_log_mark
hq_gen 2000 t 5 $((N + 1))
hq_publish
hq_wait_sql 30 "SELECT count(*) FROM t" "$((N + 2000))"
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
assert_eq "$(hq_count processing)" 0 "processing/ after exit"
assert_eq "$(hq_count_entries pending)" 0 "pending/ after exit"
assert_eq "$(hq_log_count_since 'returned [0-9]+ entries to pending/')" 0 \
    "entries returned at exit"
hq_assert_once t "$((N + 2000))"
note "worker killed with removals in flight: $N entries exactly once, $skipped skipped by the ledger"
