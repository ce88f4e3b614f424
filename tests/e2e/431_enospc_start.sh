#!/usr/bin/env bash
# hqd started while the database's disk is full. The database sits alone
# on a small tmpfs (the queue root elsewhere, so failed/ notes can be
# written: an entry that wrongly gives up shows as a dead letter). hqd ran
# once and stopped cleanly, so SQLite removed the -wal and -shm files; then
# the disk filled up. The workers' first open must create them, and
# cannot: that is a full disk, which hqd waits out (transient; a
# full disk does not use up retries, --max-retries 1 here) - no entry may
# go to failed/. Space returns: all applied exactly once.
# Needs root (mount); skipped (77) where mounting a tmpfs is not permitted.
. "$(dirname "$0")/lib.sh"
: "${HQCTL:?HQCTL must point at the hqctl binary}"
hq4_trap

MNT=$T/dbfs
if [ "$(id -u)" -ne 0 ] || ! hq4_mount "$MNT" 8m; then
	why=$(cat "$T/mount.err" 2>/dev/null || true)
	echo "cannot mount a tmpfs here (${why:-not root}): skipped"
	exit 77
fi
DB=$MNT/hive.db
N=40
ARGS=(--workers 2 --retry-base 0.1 --max-retries 1 --heartbeat-interval 0.5)

hq_sql "CREATE TABLE t(v INTEGER)"
hq_start "${ARGS[@]}"
hq_gen 10 t
hq_publish
hq_wait_sql 30 "SELECT count(*) FROM t" 10
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
# The last connection checkpointed and removed the WAL and its index.
for f in "$DB-wal" "$DB-shm"; do
	[ ! -e "$f" ] || fail "$f still there after a clean stop"
done

db_sum=$(cksum <"$DB")
hq4_fill "$MNT"
hq_log_mark
hq_start "${ARGS[@]}"
hq_gen "$N" t 5 11
hq_publish
# Several rounds of attempts (each is logged), or an entry given up.
hq__rounds_or_given_up() {
	hq__log_since_has 'hqd worker [0-9]+: batch of [0-9]+: ' 5 ||
	    hq__log_since_has 'gave up after' ||
	    [ "$(hq_count_entries failed)" -gt 0 ]
}
hq_wait 60 "five rounds of attempts on the full disk" hq__rounds_or_given_up
grep -E 'hqd worker [0-9]+: batch of' "$LOG" | tail -n 2 | sed 's/^/# /'
assert_eq "$(hq_count_entries failed)" 0 \
    "entries in failed/ while the database's disk is full"
assert_eq "$(hq_log_count_since 'gave up after')" 0 \
    "entries that gave up on a full disk"
[ "$(hq_log_count_since 'waiting for disk space')" -ge 1 ] ||
    fail "the log does not say hqd waits for disk space"
# Nothing applied meanwhile. (Not asked of SQLite: a reader would have
# to create the -shm file too, on the full disk.)
assert_eq "$(cksum <"$DB")" "$db_sum" "database file while full"
[ ! -s "$DB-wal" ] || fail "$DB-wal has data while the disk is full"

rm -f "$MNT/filler"
hq_wait_sql 120 "SELECT count(*) FROM t" $((N + 10))
hq_wait_drained 30
hq_assert_once t $((N + 10))
assert_eq "$(hq_count failed)" 0 "failed/"
assert_eq "$("$HQCTL" --root "$ROOT" stats --json >"$T/s.json" &&
    hq4_json "$T/s.json" '$j->{entries_failed}')" 0 "entries_failed"
kill -0 "$HQ_PID" || fail "hqd died"
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
note "started on a full disk: waited, then applied $N exactly once"
