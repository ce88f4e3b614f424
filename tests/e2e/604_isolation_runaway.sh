#!/usr/bin/env bash
# Issue 11, class 5: a statement time budget. An endless recursive CTE
# goes to failed/ within the budget + 2 s of being claimed, at its first
# attempt, with a reason about time; the entries published before, with
# and after it (two workers) are all applied once.
# The budget is set to 5 s with --statement-timeout (HQ_STATEMENT_TIMEOUT
# is the same setting; e2e 100 and unit_config check the pair). The
# default budget (30 s) is not exercised: it would make the test slower
# than the e2e budget.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_3xx.sh"

BUDGET=5
hq_sql "CREATE TABLE t(v INTEGER)"
hq_start --workers 2 --statement-timeout "$BUDGET"

# 1..50 before it, 52..101 after it, in one burst; 102..201 trickle in
# while it runs.
R=5_51.json
hq_gen 50 t 5 1
hq_put "$R" 'INSERT INTO t(v) SELECT count(*) FROM (WITH RECURSIVE c(i) AS
    (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT i FROM c)'
hq_gen 50 t 5 52
hq_publish
claimed() {
	[ ! -e "$ROOT/pending/$R" ]
}
hq_wait 30 "the runaway entry claimed" claimed
t0=$(date +%s%N)
hq_trickle t 102 100 4 &
HQ_BG+=("$!")
hq_wait $((BUDGET + 10)) "the runaway entry in failed/" test -e "$ROOT/failed/$R"
ms=$((($(date +%s%N) - t0) / 1000000))
note "the runaway entry failed ${ms} ms after it was claimed: $(hq_reason "$R")"
t3_check "failed within the budget + 2 s (${ms} ms)" \
    test "$ms" -le $(((BUDGET + 2) * 1000))
t3_check "failed no earlier than about the budget (${ms} ms)" \
    test "$ms" -ge $(((BUDGET - 1) * 1000))
t3_check "its reason names the time budget" hq_sub hq_failed_why "$R" 'time'
t3_check_eq "$(hq4_json "$ROOT/failed/$R.err" '$j->{attempts}')" 1 \
    "attempts of the runaway entry (no retry)"

wait "${HQ_BG[-1]}" || fail "the trickle failed"
hq_wait_sql 60 "SELECT count(*) FROM t" 200
hq_wait_drained 30
t3_check_eq "$(hq_sql "SELECT count(*), count(DISTINCT v), min(v), max(v),
    sum(v = 51) FROM t")" "200|200|1|201|0" "the 200 other entries applied once"
t3_check "failed/ holds the runaway entry only" hq_sub hq_failed_only "$R"
t3_done
