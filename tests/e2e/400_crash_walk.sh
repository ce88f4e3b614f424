#!/usr/bin/env bash
# Walk every crash point (HQ_FAULT), worker and supervisor: crash there
# once (HQ_FAULT_ONCE), let hqd recover or restart it, and check that every
# good entry was applied exactly once (a table without a unique key,
# compared with the set of entries), every bad one is in failed/ with its
# reason, and nothing remains in pending/ or processing/.
. "$(dirname "$0")/lib.sh"

GOOD=400
BAD=6
POINTS="after_claim after_claim_one before_commit after_commit after_finish
	before_done fail_mid sup_after_dispatch sup_before_recover recover_mid
	sup_drain"

# A workload: GOOD inserts of distinct values, BAD entries with SQL errors
# spread among them, and, for recovery points, a few entries left in
# processing/w0/ as if a previous hqd had died holding them.
workload() {
	local i
	mkdir -p "$ROOT/.tmp" "$ROOT/pending" "$ROOT/processing/w0"
	for i in $(seq 1 "$GOOD"); do
		printf '{"sql":"INSERT INTO t(v) VALUES (?)","params":[%d]}' \
		    "$i" >"$ROOT/.tmp/5_$i.json"
	done
	for i in $(seq 1 "$BAD"); do
		printf '{"sql":"INSERT INTO nowhere VALUES (%d)"}' "$i" \
		    >"$ROOT/.tmp/5_$((i * 60))_bad.json"
	done
	hq_publish
	# Five of the good ones were "claimed by a dead hqd".
	for i in 1 2 3 4 5; do
		mv "$ROOT/pending/5_$i.json" "$ROOT/processing/w0/"
	done
}

check_once() {
	local p=$1
	assert_eq "$(hq_sql "SELECT count(*), count(DISTINCT v), min(v), max(v) FROM t")" \
	    "$GOOD|$GOOD|1|$GOOD" "$p: every good entry applied exactly once"
	assert_eq "$(hq_count_entries failed)" "$BAD" "$p: failed/ entries"
	assert_eq "$(find "$ROOT/failed" -name '*.err' | wc -l)" "$BAD" \
	    "$p: failed/ reasons"
	assert_eq "$(hq_count_entries pending)" 0 "$p: pending/"
	assert_eq "$(hq_count_entries processing)" 0 "$p: processing/"
}

fired() { [ -e "$T/fired-$1" ]; }
gone() { ! kill -0 "$HQ_PID" 2>/dev/null; }

# hqd in the background without waiting for its start line: supervisor
# points may kill it before or right after it.
launch() {
	"$HQD" --root "$ROOT" --db "$DB" --workers 2 --batch-size 32 \
	    --rescan-interval 0.5 >>"$LOG" 2>&1 &
	HQ_PID=$!
}

for p in $POINTS; do
	ROOT=$T/q-$p DB=$T/$p.db LOG=$T/$p.log
	mark="HQ_FAULT_ONCE=$T/fired-$p"
	hq_sql "CREATE TABLE t(v INTEGER)"
	workload
	export HQ_FAULT=$p HQ_FAULT_ONCE=$T/fired-$p
	launch
	case $p in
	sup_drain | sup_before_recover)
		hq_wait 20 "some progress" hq__sql_is \
		    "SELECT count(*) > 0 FROM t" 1
		if [ "$p" = sup_drain ]; then
			kill -TERM "$HQ_PID"
		else
			# recovery runs when a worker dies
			kill -KILL "$(pgrep -P "$HQ_PID" | head -n 1)"
		fi
		;;
	esac
	hq_wait 30 "fault point $p" fired "$p"
	unset HQ_FAULT HQ_FAULT_ONCE
	case $p in
	sup_* | recover_mid)
		# The supervisor died; its workers must follow at once.
		hq_wait 10 "hqd to die" gone
		wait "$HQ_PID" 2>/dev/null || true
		HQ_PID=
		hq_wait 5 "no orphan worker" hq__no_proc_with_env "$mark"
		hq_start --workers 2
		;;
	esac
	hq_wait_drained 60
	hq_stop TERM
	assert_eq "$HQ_RC" 0 "$p: exit status"
	check_once "$p"
	note "$p: crashed once, $GOOD applied exactly once, $BAD failed"
done
