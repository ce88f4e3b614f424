#!/usr/bin/env bash
# inotify unavailable. hqd falls back to polling pending/ and says so: in
# its log, in the heartbeat and `hqctl stats --json` ("mode":"polling"),
# and `hqctl health` fails naming inotify (polling as a fallback is not
# what was asked for), while every entry is still applied exactly once.
#  1. inotify_add_watch fails with ENOSPC, as when the machine's watches
#     are used up: HQ_TEST_INOTIFY_FAIL=1 (test builds, HQ_TESTING). The
#     real thing - lowering /proc/sys/fs/inotify/max_user_watches or
#     max_user_instances as root - is deliberately not done: those limits
#     are global and would break every other process on the machine (and
#     the other tests running beside this one).
#  2. The same with USE_EVENT_LOOP=false: polling was asked for, health
#     passes.
#  3. inotify keeps failing: the watch is lost (pending/ removed) more
#     often than --max-watcher-restarts 1 allows: polling, unhealthy.
# hqd exits 0 on TERM each time.
. "$(dirname "$0")/lib.sh"
: "${HQCTL:?HQCTL must point at the hqctl binary}"
hq4_trap

hq_sql "CREATE TABLE t(v INTEGER)"
ARGS=(--workers 2 --heartbeat-interval 0.3 --rescan-interval 0.5)
next=1

# apply N: N entries, in a burst and one by one, all applied exactly once.
apply() {
	local n=$1 i
	hq_gen $((n / 2)) t 5 "$next"
	hq_publish
	for i in $(seq $((next + n / 2)) $((next + n - 1))); do
		hq_drop "5_$i.json" "{\"sql\":\"INSERT INTO t(v) VALUES ($i)\"}"
	done
	next=$((next + n))
	hq_wait_sql 60 "SELECT count(*) FROM t" $((next - 1))
	hq_wait_drained 10
	hq_assert_once t $((next - 1))
	assert_eq "$(hq_count failed)" 0 "failed/"
}

# health_is RC ERE: hqctl health exits RC with one line matching ERE.
hq__health_is() {
	local rc=0
	"$HQCTL" --root "$ROOT" health >"$T/health.out" 2>&1 || rc=$?
	[ "$rc" -eq "$1" ] && [ "$(wc -l <"$T/health.out")" -eq 1 ] &&
	    grep -q -E -- "$2" "$T/health.out"
}

hq__mode_is() {
	[ "$(hq4_heartbeat '$j->{mode}')" = "$1" ] &&
	    [ "$(hq4_stats '$j->{mode}')" = "$1" ]
}

# 1. inotify_add_watch fails (ENOSPC).
export HQ_TEST_INOTIFY_FAIL=1
hq_start "${ARGS[@]}"
unset HQ_TEST_INOTIFY_FAIL
if [ "$(hq_log_count '\(HQ_TEST_INOTIFY_FAIL\)')" -eq 0 ]; then
	echo "hqd ignores HQ_TEST_INOTIFY_FAIL (built without HQ_TESTING): skipped"
	exit 77
fi
assert_eq "$(hq_log_count 'inotify_add_watch .*/pending \(HQ_TEST_INOTIFY_FAIL\): No space left on device')" \
    1 "inotify failure logged"
assert_eq "$(hq_log_count 'polling pending/ every 100 ms: inotify is not available')" \
    1 "fallback logged"
assert_eq "$(hq_log_count 'started: .*, polling, ')" 1 "start line says polling"
hq_wait 30 "mode polling in the heartbeat and stats" hq__mode_is polling
assert_eq "$(hq4_stats '$j->{watcher_alive} ? "alive" : "down"')" down "watcher_alive"
[ "$(hq4_stats '$j->{watcher_restarts}')" -ge 1 ] || fail "watcher_restarts is 0"
hq_wait 30 "health to fail naming inotify" hq__health_is 1 '^unhealthy: .*inotify'
note "1. $(cat "$T/health.out")"
apply 40
hq__health_is 1 '^unhealthy: .*inotify' || fail "health after applying: $(cat "$T/health.out")"
kill -0 "$HQ_PID" || fail "hqd died"
hq_stop TERM
assert_eq "$HQ_RC" 0 "1: exit status"

# 2. USE_EVENT_LOOP=false: polling on purpose, healthy.
hq_log_mark
export USE_EVENT_LOOP=false
hq_start "${ARGS[@]}"
unset USE_EVENT_LOOP
assert_eq "$(hq_log_count_since 'polling pending/ every 100 ms: USE_EVENT_LOOP is false')" \
    1 "intended polling logged"
assert_eq "$(hq_log_count_since 'inotify_add_watch')" 0 "inotify tried"
hq_wait 30 "mode polling in the heartbeat and stats" hq__mode_is polling
hq_wait 30 "health to pass" hq__health_is 0 "^healthy: hqd pid $HQ_PID, 2 workers, polling\$"
apply 40
hq__health_is 0 '^healthy: ' || fail "2: health after applying: $(cat "$T/health.out")"
hq_stop TERM
assert_eq "$HQ_RC" 0 "2: exit status"

# 3. The watch keeps getting lost: after --max-watcher-restarts, polling.
hq_log_mark
hq_start "${ARGS[@]}" --max-watcher-restarts 1
hq_wait 30 "mode event-loop" hq__mode_is event-loop
hq_wait 30 "health to pass" hq__health_is 0 '^healthy: .*inotify$'
rm -rf "$ROOT/pending"
hq_wait 30 "the watch rebuilt once" hq__log_since_has 'inotify watch lost .*restart 1 of 1'
apply 10
rm -rf "$ROOT/pending"
hq_wait 30 "polling after too many restarts" \
    hq__log_since_has 'polling pending/ every 100 ms: too many watcher restarts'
hq_wait 30 "mode polling" hq__mode_is polling
hq_wait 30 "health to fail naming inotify" hq__health_is 1 '^unhealthy: .*inotify'
note "3. $(cat "$T/health.out")"
apply 40
kill -0 "$HQ_PID" || fail "hqd died"
hq_stop TERM
assert_eq "$HQ_RC" 0 "3: exit status"
note "inotify unavailable: polling, said so, $((next - 1)) applied exactly once"
