#!/usr/bin/env bash
# SIGTERM during a big backlog: hqd stops dispatching, lets the workers
# finish the batches in hand, and exits 0 well within --shutdown-timeout;
# processing/ is empty, every entry is either applied or still in pending/
# (none lost, none failed, none doubled); a restart applies the rest once.
. "$(dirname "$0")/lib.sh"

N=${HQ_E2E_N:-20000}
BUDGET=10
hq_sql "CREATE TABLE t(v INTEGER)"	# no unique key: doubles would show
hq_gen "$N" t
hq_publish
hq_start --workers 2 --shutdown-timeout "$BUDGET"
hq_advance $((N / 10)) "$N"
hq_thaw
hq_stop_within $((BUDGET + 5)) TERM
assert_eq "$HQ_RC" 0 "exit status after TERM"
[ "$HQ_STOP_MS" -le $((BUDGET * 1000)) ] ||
    fail "TERM took ${HQ_STOP_MS} ms, over the ${BUDGET} s budget"
assert_eq "$(hq_log_count 'hqd: SIGTERM: draining')" 1 "drain log line"
assert_eq "$(hq_log_count 'shutdown timeout')" 0 "grace timer fired"
assert_eq "$(hq_count processing)" 0 "processing/ after TERM"
assert_eq "$(hq_count failed)" 0 "failed/ after TERM"
rows=$(hq_sql "SELECT count(*) FROM t")
pending=$(hq_count_entries pending)
[ "$rows" -lt "$N" ] || fail "the backlog was done before TERM"
assert_eq $((rows + pending)) "$N" "applied + pending after TERM"
assert_eq "$(hq_sql "SELECT count(DISTINCT v) FROM t")" "$rows" \
    "distinct values after TERM"
assert_eq "$(hq_sql "SELECT count(*) FROM hq_ledger")" "$rows" \
    "ledger rows after TERM"
# What is left is exactly what was not applied.
left=$(hq_sql "SELECT count(*) FROM t WHERE v IN ($(cd "$ROOT/pending" &&
    ls | sed -e 's/^5_//' -e 's/\.json$//' | paste -sd, -))")
assert_eq "$left" 0 "entries both applied and left in pending/"

hq_start --workers 2
hq_wait_sql 60 "SELECT count(*) FROM t" "$N"
hq_wait_drained 10
hq_assert_once t "$N"
assert_eq "$(hq_log_count 'already applied, skipped')" 0 "ledger skips"
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
note "TERM after $rows of $N: exit 0 in ${HQ_STOP_MS} ms, the rest applied" \
    "once after a restart"
