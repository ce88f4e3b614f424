#!/usr/bin/env bash
# The wall clock jumps under a running hqd: a day forward, then 25 hours
# back (to an hour behind the true time). libfaketime (LD_PRELOAD of
# libfaketimeMT.so.1) moves CLOCK_REALTIME of hqd and its workers as
# $T/faketime says (FAKETIME_TIMESTAMP_FILE, re-read on every call:
# FAKETIME_NO_CACHE=1) and leaves CLOCK_MONOTONIC alone
# (FAKETIME_DONT_FAKE_MONOTONIC=1). Two hqds at once: one with inotify
# (rescan every 0.5 s), one polling (every 0.2 s), heartbeats every 0.5 s.
# In every phase:
#  - entries keep being applied, exactly once, none failed;
#  - `hqctl health`, run with the true clock, stays 0: freshness is
#    measured on CLOCK_MONOTONIC (a heartbeat stamped an hour "ago" by the
#    wall clock is fresh);
#  - the heartbeat file keeps being written, stamped with hqd's clock;
#  - no timer fires early or never: heartbeats, rescans and polls go on
#    at about their pace (at least 3 more of each within a deadline; over
#    a measured window, at most 1.5 times as many as the time allows,
#    plus 3);
#  - no worker dies or is killed (a timeout read off the wall clock).
# hqd exits 0 on TERM. Skipped (77) without libfaketime or where the
# preload does not reach hqd.
. "$(dirname "$0")/lib.sh"
: "${HQCTL:?HQCTL must point at the hqctl binary}"
hq4_trap

FT_LIB=
for f in /usr/lib/*/faketime/libfaketimeMT.so.1 /usr/lib/faketime/libfaketimeMT.so.1 \
    /usr/local/lib/faketime/libfaketimeMT.so.1; do
	[ -e "$f" ] && { FT_LIB=$f; break; }
done
[ -n "$FT_LIB" ] || { echo "libfaketime is not installed: skipped"; exit 77; }
FT_FILE=$T/faketime
echo "+0" >"$FT_FILE"
# An ASan build refuses a preload ahead of its runtime unless told.
FT_ENV=(env "LD_PRELOAD=$FT_LIB" "FAKETIME_TIMESTAMP_FILE=$FT_FILE"
    FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1
    "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
echo "+1d" >"$FT_FILE"
fake=$("${FT_ENV[@]}" date +%s 2>/dev/null || echo 0)
if [ $((fake - $(date +%s))) -lt 86000 ]; then
	echo "the libfaketime preload does not work here (date says $fake): skipped"
	exit 77
fi
echo "+0" >"$FT_FILE"
HQ_PREFIX=("${FT_ENV[@]}")

ROOT_B=$T/queue-b DB_B=$T/hive-b.db LOG_B=$T/hqd-b.log
"$DBQ" "$DB" "CREATE TABLE t(v INTEGER)"
"$DBQ" "$DB_B" "CREATE TABLE t(v INTEGER)"
hq_start --workers 2 --heartbeat-interval 0.5 --rescan-interval 0.5
"${HQ_PREFIX[@]}" "$HQD" --root "$ROOT_B" --db "$DB_B" --workers 2 \
    --heartbeat-interval 0.5 --event-loop=false --poll-interval 0.2 \
    >>"$LOG_B" 2>&1 &
PID_B=$!
HQ_BG+=("$PID_B")
hq_wait 10 "the polling hqd to start" grep -q ': started: ' "$LOG_B"

# on A|B CMD...: run CMD with ROOT, DB, LOG of that hqd.
on() {
	local which=$1
	shift
	if [ "$which" = B ]; then
		ROOT=$ROOT_B DB=$DB_B LOG=$LOG_B "$@"
	else
		"$@"
	fi
}

next=1
apply() {
	local which
	for which in A B; do
		on "$which" hq_gen 20 t 5 "$next"
		on "$which" hq_publish
	done
	next=$((next + 20))
	for which in A B; do
		on "$which" hq_wait_sql 60 "SELECT count(*) FROM t" $((next - 1))
	done
}

# counters WHICH: "iterations rescans heartbeat-file-iteration".
counters() {
	on "$1" hq4_stats '"$j->{supervisor}{iterations} $j->{supervisor}{rescans}"' |
	    tr '\n' ' '
	on "$1" hq4_heartbeat '$j->{iteration}'
}

hq__counters_past() {
	local c
	read -r -a c <<<"$(counters "$1")"
	[ "${c[0]}" -ge "$2" ] && [ "${c[1]}" -ge "$3" ] && [ "${c[2]}" != none ] &&
	    [ "${c[2]}" -ge "$4" ]
}

health_ok() {
	local which=$1 rc=0 root=$ROOT
	[ "$which" = A ] || root=$ROOT_B
	"$HQCTL" --root "$root" health >"$T/health.out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || fail "$phase: hqctl health of $which: exit $rc: $(cat "$T/health.out")"
}

# pace WHICH RESCAN_INTERVAL: over a measured window, heartbeats and
# rescans happen, but not faster than their intervals allow; and at least
# 3 more of each come within a deadline.
pace() {
	local which=$1 rint=$2 c0 c1 t0 t1 ms max_it max_rs
	read -r -a c0 <<<"$(counters "$which")"
	t0=$(date +%s%N)
	sleep 3
	read -r -a c1 <<<"$(counters "$which")"
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	max_it=$((ms * 3 / 2 / 500 + 3))
	max_rs=$((ms * 3 / 2 / rint + 3))
	[ $((c1[0] - c0[0])) -le "$max_it" ] ||
	    fail "$phase: $which: $((c1[0] - c0[0])) heartbeats in $ms ms (interval 500 ms)"
	[ $((c1[1] - c0[1])) -le "$max_rs" ] ||
	    fail "$phase: $which: $((c1[1] - c0[1])) rescans in $ms ms (interval $rint ms)"
	hq_wait 60 "$phase: $which: 3 more heartbeats, rescans, heartbeat files" \
	    hq__counters_past "$which" $((c1[0] + 3)) $((c1[1] + 3)) $((c1[2] + 3))
	note "$phase: $which: $((c1[0] - c0[0])) heartbeats, $((c1[1] - c0[1]))" \
	    "rescans in $ms ms; uptime_seconds $(on "$which" hq4_stats '$j->{uptime_seconds}')," \
	    "idle_seconds $(on "$which" hq4_stats '$j->{idle_seconds}')"
}

hq__hb_clock_near() {
	local ts
	ts=$(on "$1" hq4_heartbeat '$j->{timestamp}')
	[ "$ts" != none ] || return 1
	ts=$((ts - $(date +%s) - $2))
	[ "${ts#-}" -le 120 ]
}

# phase OFFSET SECONDS: jump to OFFSET (libfaketime syntax), SECONDS from
# the true time; hqd's heartbeats show it; then the checks.
phase() {
	phase="clock $1"
	echo "$1" >"$FT_FILE"
	if ! hq_wait_quiet 20 hq__hb_clock_near A "$2"; then
		[ "$1" = "+1d" ] && [ "$next" -le 21 ] && {
			echo "the libfaketime preload does not reach hqd: skipped"
			exit 77
		}
		fail "$phase: hqd's heartbeat timestamp does not follow the clock"
	fi
	hq_wait 20 "$phase: hqd B's clock" hq__hb_clock_near B "$2"
	health_ok A
	health_ok B
	apply
	pace A 500
	pace B 200
	health_ok A
	health_ok B
	apply
	health_ok A
	health_ok B
}

# hq_wait_quiet SECONDS CMD...: like hq_wait, but returns 1 at the deadline.
hq_wait_quiet() {
	local deadline=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

phase "+0" 0
phase "+1d" 86400
phase "-1h" -3600
phase "+0" 0

for which in A B; do
	on "$which" hq_wait_drained 30
	on "$which" hq_assert_once t $((next - 1))
	assert_eq "$(on "$which" hq_count failed)" 0 "$which: failed/"
	# No worker was killed or died on the way (a timeout read off the
	# wall clock would kill one after the jump forward).
	assert_eq "$(on "$which" hq4_stats '"$j->{supervisor}{deaths} $j->{supervisor}{spawns}"')" \
	    "0 2" "$which: worker deaths and spawns"
done
kill -0 "$HQ_PID" || fail "hqd A died"
kill -0 "$PID_B" || fail "hqd B died"
hq_stop TERM
assert_eq "$HQ_RC" 0 "A: exit status"
kill -TERM "$PID_B"
rc=0
wait "$PID_B" || rc=$?
HQ_BG=()
assert_eq "$rc" 0 "B: exit status"
note "clock +1 day, then -1 hour: $((next - 1)) entries applied exactly once per hqd"
