#!/usr/bin/env bash
# An entry whose worker dies every time it holds it alone (HQ_FAULT makes
# each worker SIGKILL itself at the point):
#  - before_commit: never applied; after 3 deaths it is a poison entry and
#    goes to failed/ with that reason, and hqd goes on with the rest.
#  - after_commit: applied (the ledger has it) at the first death, so it
#    must end as applied, not as a dead letter: every entry ends in
#    exactly one of applied, failed/ or pending/.
. "$(dirname "$0")/lib.sh"

hq_sql "CREATE TABLE t(v INTEGER)"
hq_drop 5_1.json '{"sql":"INSERT INTO t(v) VALUES (1)"}'
HQ_FAULT=before_commit hq_start --workers 1
hq_wait_log 10 'hqd: 5_1.json: 3 workers died applying it; a poison entry'
hq_wait_drained 10
assert_failed 5_1.json 'poison'
assert_match "$(cat "$ROOT/failed/5_1.json.err")" '"attempts":3,' "attempts"
assert_eq "$(hq_sql "SELECT count(*) FROM t")" 0 "rows"
assert_eq "$(hq_sql "SELECT count(*) FROM hq_ledger")" 0 "ledger rows"
hq_stop_within 15 TERM
assert_eq "$HQ_RC" 0 "exit status (before_commit)"

ROOT=$T/q2 DB=$T/q2.db LOG=$T/q2.log
hq_sql "CREATE TABLE t(v INTEGER)"
hq_drop 5_1.json '{"sql":"INSERT INTO t(v) VALUES (1)"}'
HQ_FAULT=after_commit hq_start --workers 1
hq_wait_log 10 'hqd worker 0: fault point after_commit reached'
hq_wait_drained 10
assert_eq "$(hq_sql "SELECT count(*) FROM t")" 1 "rows (after_commit)"
hq_stop_within 15 TERM
assert_eq "$HQ_RC" 0 "exit status (after_commit)"
if [ -e "$ROOT/failed/5_1.json" ]; then
	fail "5_1.json was applied and is in failed/ too:" \
	    "$(cat "$ROOT/failed/5_1.json.err")"
fi
assert_eq "$(hq_count_entries pending)" 0 "pending/ (after_commit)"
note "poison entry failed after 3 deaths; an applied one never did"
