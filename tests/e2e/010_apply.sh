#!/usr/bin/env bash
# Thousands of entries, two workers: every one applied exactly once, in
# JSON and MessagePack, and nothing left behind.
. "$(dirname "$0")/lib.sh"

N=${HQ_E2E_N:-3000}
hq_sql "CREATE TABLE t(v INTEGER, src TEXT)"
hq_start --workers 2
for i in $(seq 1 "$N"); do
	printf '{"sql":"INSERT INTO t(v, src) VALUES (?, ?)","params":[%d,"json"]}' \
	    "$i" >"$ROOT/.tmp/5_$i.json"
done
# One rename per entry, in one burst: the commit point of each.
hq_publish
hq_wait_sql 60 "SELECT count(*) FROM t" "$N"
hq_wait_drained 10
assert_eq "$(hq_sql "SELECT count(DISTINCT v) FROM t")" "$N" "distinct values"
assert_eq "$(hq_sql "SELECT count(*) FROM hq_ledger")" "$N" "ledger rows"
assert_eq "$(hq_count failed)" 0 "failed/"
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
assert_eq "$(hq_count processing)" 0 "processing/ after exit"
note "applied $N entries exactly once"
