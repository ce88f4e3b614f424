#!/usr/bin/env bash
# 080 at first use, with the defaults (busy timeout 5 s): a database still
# in rollback-journal mode (as the sqlite3 CLI and the old worker leave it)
# that another process locks for 3 s before hqd's worker ever opened it.
# The lock is shorter than one busy timeout: nothing may fail.
. "$(dirname "$0")/lib.sh"

hq_sql "CREATE TABLE t(v INTEGER)"
assert_eq "$(hq_sql "PRAGMA journal_mode")" delete "journal mode before hqd"
hq_hold 3
for i in 1 2 3 4 5; do
	hq_drop "5_$i.json" "{\"sql\":\"INSERT INTO t(v) VALUES ($i)\"}"
done
hq_start --workers 1
hq__settled() {
	[ "$(hq_count_entries pending)" -eq 0 ] &&
	    [ "$(hq_count_entries processing)" -eq 0 ]
}
hq_wait 30 "the entries settled" hq__settled
assert_eq "$(hq_count failed)" 0 "failed/"
assert_eq "$(hq_sql "SELECT count(*) FROM t")" 5 "rows"
assert_eq "$(hq_sql "PRAGMA journal_mode")" wal "journal mode after hqd"
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
note "locked for 3 s at first use: applied, none failed"
