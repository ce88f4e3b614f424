#!/usr/bin/env bash
# The single-instance guarantee does not rest on a file anyone can delete
# (issue 12, item 2).
#  1. ROOT/.hqd.lock removed (rm, as a tmpfiles cleaner or a careless
#     `rm -rf ROOT/.*` would), then a second hqd with another database:
#     refused (75) at once, naming the first one's pid; every entry goes
#     to the first one's database, none to the second's; hqctl stats and
#     health read the first one's segment. The pid file is written again
#     at the next rescan (HUP here: the rescan interval is long, so that
#     nothing else would put it back meanwhile).
#  2. The root itself removed and made again: the first hqd now serves a
#     directory no producer can reach, so a second hqd may start on the
#     new one. The first notices at its next rescan, drains and exits 75,
#     and leaves the second one's stats segment (same root path, same
#     name) alone: hqctl stats still reads the second one.
. "$(dirname "$0")/lib.sh"
: "${HQCTL:?HQCTL must point at the hqctl binary}"
hq4_trap

DB2=$T/other.db
# -v: the rescans are logged (debug).
ARGS=(--workers 2 --rescan-interval 60 --heartbeat-interval 0.5 -v)

hq_sql "CREATE TABLE t(v INTEGER)"
"$DBQ" "$DB2" "CREATE TABLE t(v INTEGER)"
hq_start "${ARGS[@]}"
FIRST=$HQ_PID
hq_gen 10 t
hq_publish
hq_wait_sql 30 "SELECT count(*) FROM t" 10
# The first maintenance rescan comes with a tick, the next one a minute
# later: nothing but the HUP below rescans in between.
hq_wait_log 10 'rescan \(maintenance\)'

# 1. The lock file removed.
rm "$ROOT/.hqd.lock"
t0=$(date +%s%N)
hq4_second "$T/second.log" --root "$ROOT" --db "$DB2" --workers 1
started=$HQ4_SECOND_STARTED
if [ "$started" -eq 1 ]; then
	hq_gen 20 t 5 11
	hq_publish
	sleep 2
	kill -TERM "$HQ4_SECOND"
fi
rc=0
wait "$HQ4_SECOND" || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$started" -eq 0 ] ||
    fail "a second hqd started on $ROOT with --db $DB2 while hqd $FIRST runs; it applied $("$DBQ" "$DB2" "SELECT count(*) FROM t") entries into its database"
assert_eq "$rc" 75 "exit status of the second hqd"
[ "$ms" -lt 5000 ] || fail "the second hqd took $ms ms to give up"
assert_match "$(cat "$T/second.log")" "root $(realpath "$ROOT") is held by hqd pid $FIRST\$" \
    "the second hqd's message"
note "1: second hqd refused in $ms ms: $(cat "$T/second.log")"

hq_gen 20 t 5 11
hq_publish
hq_wait_sql 30 "SELECT count(*) FROM t" 30
hq_wait_drained 10
hq_assert_once t 30
assert_eq "$("$DBQ" "$DB2" "SELECT count(*) FROM t")" 0 "rows in the second database"
assert_eq "$(hq4_stats '"$j->{pid}/$j->{entries_applied}"')" "$FIRST/30" \
    "pid/applied in hqctl stats"
rc=0
"$HQCTL" --root "$ROOT" health >"$T/health.out" || rc=$?
assert_eq "$rc" 0 "hqctl health: $(cat "$T/health.out")"
# The pid file comes back with the next rescan.
[ ! -e "$ROOT/.hqd.lock" ] || fail "the pid file is back before any rescan"
kill -HUP "$FIRST"
hq__pidfile_is() { [ "$(cat "$ROOT/.hqd.lock" 2>/dev/null)" = "$1" ]; }
hq_wait 10 "the pid file written again" hq__pidfile_is "$FIRST"
hq_run --root "$ROOT" --db "$DB2" --workers 1
assert_eq "$HQ_RC" 75 "exit status of a third hqd"

# 2. The root removed and made again.
hq_log_mark
rm -rf "$ROOT"
mkdir "$ROOT"
"$HQD" --root "$ROOT" --db "$DB2" "${ARGS[@]}" >"$T/second2.log" 2>&1 &
SECOND=$!
HQ_BG+=("$SECOND")
hq__second_started() {
	hq_gone "$SECOND" && fail "the hqd of the new root exited: $(cat "$T/second2.log")"
	grep -q ': started: ' "$T/second2.log"
}
hq_wait 20 "the hqd of the new root to start" hq__second_started
hq_gone "$FIRST" && fail "the first hqd exited before its next rescan"
kill -HUP "$FIRST"
hq_wait_exit 20
assert_eq "$HQ_RC" 75 "exit status of the first hqd once its root was replaced"
hq_wait_log 1 "queue root $(realpath "$ROOT") was removed or replaced"
assert_eq "$(hq_log_count_since 'stats segment .* is another hqd.s now: left in place')" 1 \
    "the first hqd leaving the segment in place"
# The second one's segment is still there, and its own.
assert_eq "$(hq4_stats '$j->{pid}')" "$SECOND" "pid in hqctl stats after the first exited"
hq_gen 5 t 5 101
hq_publish
hq__second_applied() { [ "$("$DBQ" "$DB2" "SELECT count(*) FROM t")" = 5 ]; }
hq_wait 30 "the second hqd to apply 5" hq__second_applied
kill -TERM "$SECOND"
rc=0
wait "$SECOND" || rc=$?
assert_eq "$rc" 0 "exit status of the hqd of the new root"
hq_assert_once t 30
rc=0
"$HQCTL" --root "$ROOT" stats >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 69 "hqctl stats once both are gone"
note "2: root replaced: the first hqd drained (75), the new one's segment kept"
