#!/usr/bin/env bash
# Issue 11, class 3: an entry whose own statement fails with a code hq
# otherwise treats as transient must fail alone, not its batch. One worker,
# 20 entries published before hqd starts (one batch): 19 innocent inserts
# and one culprit. Round 1: `PRAGMA wal_checkpoint` inside the transaction
# (SQLITE_LOCKED). Round 2: an FTS4 'integrity-check' of an external-content
# table whose content changed behind its back (SQLITE_CORRUPT_VTAB). Each
# time the 19 are applied once, the culprit is the only entry in failed/
# and its note gives its own reason.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_3xx.sh"

ARGS=(--workers 1 --max-retries 3 --retry-base 0.1)
hq_sql "CREATE TABLE t(v INTEGER)"

# round FIRST AT SQL ERE: entries inserting FIRST..FIRST+19 into t, but the
# AT-th (1..20) is SQL; its reason must match ERE.
round() {
	local first=$1 at=$2 sql=$3 ere=$4 i v name culprit='' want=()
	for i in $(seq 1 20); do
		v=$((first + i - 1))
		name=$(printf '5_%06d.json' "$v")
		if [ "$i" -eq "$at" ]; then
			hq_put "$name" "$sql"
			culprit=$name
		else
			hq_put "$name" "INSERT INTO t(v) VALUES ($v)"
			want+=("$v")
		fi
	done
	hq_publish
	hq_start "${ARGS[@]}"
	hq_wait_drained 60
	hq_stop TERM
	t3_check_eq "$(hq_sql "SELECT group_concat(v, ' ') FROM (SELECT v FROM t
	    WHERE v BETWEEN $first AND $((first + 19)) ORDER BY v)")" "${want[*]}" \
	    "$sql: the 19 innocent entries applied once"
	t3_check "$sql: the culprit in failed/ with its own reason" \
	    hq_sub hq_failed_why "$culprit" "$ere"
	t3_check "$sql: the culprit, and no innocent entry, in failed/" \
	    hq_sub hq_failed_only "$culprit"
	note "$sql: $(find "$ROOT/failed" -name '*.err' | wc -l) in failed/;" \
	    "culprit's reason: $(hq_reason "$culprit" 2>/dev/null || echo none)"
	# The next round starts from an empty failed/.
	rm -f "$ROOT"/failed/*
}

round 1 10 'PRAGMA wal_checkpoint' 'checkpoint|locked'

# An external-content FTS4 table out of step with its content table: the
# integrity check returns SQLITE_CORRUPT_VTAB.
hq_sql "CREATE TABLE docs(id INTEGER PRIMARY KEY, body TEXT);
	CREATE VIRTUAL TABLE ft USING fts4(content='docs', body);
	INSERT INTO docs VALUES (1, 'hello world');
	INSERT INTO ft(docid, body) VALUES (1, 'hello world');
	UPDATE docs SET body = 'other text' WHERE id = 1"
rc=0
"$DBQ" "$DB" "INSERT INTO ft(ft) VALUES ('integrity-check')" >/dev/null \
    2>"$T/ic.err" || rc=$?
[ "$rc" -ne 0 ] && grep -q -i 'malformed' "$T/ic.err" ||
    fail "the FTS4 recipe does not fail as corrupt here: rc $rc: $(cat "$T/ic.err")"
round 101 20 "INSERT INTO ft(ft) VALUES ('integrity-check')" \
    'malformed|corrupt|integrity'
t3_done
