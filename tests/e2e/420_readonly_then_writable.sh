#!/usr/bin/env bash
# The database becomes read-only under a running hqd, entries arrive, are
# retried (logged, counted), then it is made writable again before the
# retries run out (--max-retries 20 --retry-base 0.1): every entry applied
# exactly once, none failed, hqd alive, exit 0 on TERM.
#
# Permission bits are checked when a file is opened: a worker that has its
# connection open keeps writing through its descriptors whatever chmod
# says (round 4 shows it). So rounds 1-3 make the database read-only after
# hqd started but before any worker opened it (workers open it lazily,
# with their first batch), each round with a fresh hqd:
#  1. the database file read-only (a fresh database, rollback journal);
#  2. the database file read-only, the database in WAL mode (its -wal and
#     -shm were removed by the last clean close; the folder is writable);
#  3. the database file writable but its folder read-only: in WAL mode the
#     -wal and -shm files cannot be created;
#  4. workers connected, then file, -wal, -shm and folder all read-only:
#     entries are applied anyway (open descriptors), exactly once.
# As root, hqd and dbq run as nobody (root writes through any mode bits).
. "$(dirname "$0")/lib.sh"
: "${HQCTL:?HQCTL must point at the hqctl binary}"
hq4_trap

if [ "$(id -u)" -eq 0 ]; then
	hq4_as_nobody || { echo "cannot run hqd as nobody here: skipped"; exit 77; }
	owner=$HQ4_USER:$HQ4_GROUP
else
	owner=$(id -un):$(id -gn)
fi
DBDIR=$T/db
DB=$DBDIR/hive.db
mkdir -p "$DBDIR" "$ROOT"
chown "$owner" "$DBDIR" "$ROOT"
chmod 755 "$DBDIR"
hq_sql "CREATE TABLE t(v INTEGER)"
ARGS=(--workers 2 --max-retries 20 --retry-base 0.1 --rescan-interval 0.5)
N=10
next=1

# publish: N entries with the next values.
publish() {
	hq_gen "$N" t 5 "$next"
	hq_publish
	next=$((next + N))
}

hq__retried_n() {
	[ "$(hq_log_count_since "hqd worker [0-9]+: batch of [0-9]+: .*($1)")" -ge "$2" ]
}

# round NAME ERE MAKE_RO MAKE_RW: a fresh hqd, its workers not connected;
# MAKE_RO; N entries; wait for three attempts logged with ERE; nothing
# applied, failed or lost meanwhile; MAKE_RW; all applied exactly once.
round() {
	local name=$1 re=$2 before rows
	hq_log_mark
	hq_start "${ARGS[@]}"
	assert_eq "$(hq_log_count_since 'is read-only: entries will be retried')" 0 \
	    "$name: start-up warning (writable at start)"
	$3
	before=$(cksum <"$DB")
	publish
	hq_wait 60 "$name: three attempts refused" hq__retried_n "$re" 3
	# Nothing applied: the database file is unchanged and, in WAL mode,
	# no -wal holds a frame (a folder read-only even to SQLite's
	# readers rules out asking the database itself).
	assert_eq "$(cksum <"$DB")" "$before" "$name: database file while read-only"
	[ ! -s "$DB-wal" ] || fail "$name: $DB-wal has data while read-only"
	assert_eq "$(hq_count failed)" 0 "$name: failed/ while read-only"
	assert_eq $(($(hq_count_entries pending) + $(hq_count_entries processing))) \
	    "$N" "$name: entries held in pending/ + processing/"
	kill -0 "$HQ_PID" || fail "$name: hqd died"
	$4
	hq_wait_sql 60 "SELECT count(*) FROM t" $((next - 1))
	hq_wait_drained 30
	hq_assert_once t $((next - 1))
	assert_eq "$(hq_count failed)" 0 "$name: failed/"
	assert_eq "$(hq4_stats '$j->{entries_applied}')" "$N" "$name: entries_applied"
	assert_eq "$(hq4_stats '$j->{entries_failed}')" 0 "$name: entries_failed"
	[ "$(hq4_stats '$j->{entries_retried}')" -ge 1 ] ||
	    fail "$name: entries_retried is 0"
	assert_eq "$(hq_log_count_since 'gave up after')" 0 "$name: entries given up"
	hq_stop TERM
	assert_eq "$HQ_RC" 0 "$name: exit status"
	assert_eq "$(hq_count processing)" 0 "$name: processing/ at exit"
	note "round $name: $(hq_log_count_since 'hqd worker [0-9]+: batch of') attempts" \
	    "refused ($(grep -E -o 'hqd worker [0-9]+: batch of [0-9]+: .*' "$LOG" |
	    tail -n 1 | cut -d: -f3- | cut -c1-70)), then $N applied once"
}

file_ro() { chmod 444 "$DB"; }
file_rw() { chmod 644 "$DB"; }
dir_ro() { chmod 555 "$DBDIR"; }
dir_rw() { chmod 755 "$DBDIR"; }

# The mode bits bind hqd's user (not so for root: hence nobody).
"${HQ_PREFIX[@]}" test -w "$DB" || fail "hqd's user cannot write $DB"
file_ro
! "${HQ_PREFIX[@]}" test -w "$DB" || fail "hqd's user can write a 0444 $DB"
file_rw

round "1 file" 'read-only|readonly' file_ro file_rw
assert_eq "$(hq_sql 'PRAGMA journal_mode')" wal "journal mode after round 1"
for f in "$DB-wal" "$DB-shm"; do
	[ ! -e "$f" ] || fail "$f left after a clean stop"
done
round "2 file, WAL" 'read-only|readonly' file_ro file_rw
round "3 folder" 'unable to open|read-only|readonly|disk I/O' dir_ro dir_rw

# 4. Connected workers do not notice: applied anyway, exactly once.
hq_log_mark
hq_start "${ARGS[@]}" --workers 1
publish
hq_wait_sql 30 "SELECT count(*) FROM t" $((next - 1))
[ -e "$DB-wal" ] && [ -e "$DB-shm" ] || fail "no -wal/-shm with a worker connected"
chmod 444 "$DB" "$DB-wal" "$DB-shm"
chmod 555 "$DBDIR"
publish
hq_wait_drained 60
retries=$(hq_log_count_since 'hqd worker [0-9]+: batch of')
chmod 755 "$DBDIR"
chmod 644 "$DB" "$DB-wal" "$DB-shm"
hq_wait_drained 30
hq_assert_once t $((next - 1))
assert_eq "$(hq_count failed)" 0 "round 4: failed/"
hq_stop TERM
assert_eq "$HQ_RC" 0 "round 4: exit status"
note "round 4: connected worker, everything chmod read-only: $N applied" \
    "anyway ($retries attempts refused)"
