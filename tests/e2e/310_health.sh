#!/usr/bin/env bash
# `hqctl health` through what can happen to hqd: healthy once the workers
# are up; a stopped supervisor is caught by its old heartbeat; a killed
# worker is named (maybe briefly) and health recovers once it is respawned;
# a killed hqd leaves a stale segment, which health and stats refuse with
# one line saying why, while stats still counts the directories (exit 69).
# Intended polling (--event-loop=false) is healthy.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_3xx.sh"

SEG=$(t3_seg_name "$ROOT")
T3_SEGS+=("$SEG")
hq_sql "CREATE TABLE t(v INTEGER)"

# t3__health_is RC ERE: health exits RC, printing one line matching ERE.
t3__health_is() {
	t3_run t3_ctl health
	[ "$T3_RC" -eq "$1" ] && [ "$(wc -l <"$T/out")" -eq 1 ] &&
	    grep -q -E -- "$2" "$T/out"
}

hq_start --workers 2 --heartbeat-interval 0.2
hq_wait 30 "hqctl health to pass" t3__health_is 0 \
	"^healthy: hqd pid $HQ_PID, 2 workers, inotify\$"

# 1. The supervisor stops (SIGSTOP): its heartbeat ages past two
# intervals; health says so. Workers are still alive.
kill -STOP "$HQ_PID"
hq_wait 30 "health to see an old heartbeat" t3__health_is 1 \
	'^unhealthy: heartbeat is [0-9]+\.[0-9] s old$'
note "stopped supervisor: $(cat "$T/out")"
kill -CONT "$HQ_PID"
hq_wait 30 "health to pass after SIGCONT" t3__health_is 0 '^healthy: '

# 2. A worker is killed: health may fail for a moment, naming the worker,
# and passes again once the supervisor has respawned it.
mapfile -t before < <(hq_live_workers)
assert_eq "${#before[@]}" 2 "workers before the kill"
victim=${before[0]}
kill -KILL "$victim"
saw_fail=0
t3__recovered() {
	t3_run t3_ctl health
	if [ "$T3_RC" -ne 0 ]; then
		[ "$(wc -l <"$T/out")" -eq 1 ] ||
			fail "health printed $(wc -l <"$T/out") lines: $(cat "$T/out")"
		grep -q -E '^unhealthy: worker [01] (is not running|has been starting)' \
		    "$T/out" || fail "health after a worker kill: $(cat "$T/out")"
		saw_fail=1
		return 1
	fi
	local live
	live=$(hq_live_workers)
	live=" $(echo $live) "
	[ "$(echo $live | wc -w)" -eq 2 ] && [[ $live != *" $victim "* ]]
}
hq_wait 30 "health to pass with a respawned worker" t3__recovered
note "worker kill: health failed for a while: $saw_fail"
hq_wait 30 "deaths 1 in stats" t3__stats_has '$j->{supervisor}{deaths}' 1

# 3. hqd is SIGKILLed: its segment stays behind, stale.
mapfile -t workers < <(hq_live_workers)
dead=$HQ_PID
hq_crash
[ -e "/dev/shm$SEG" ] || fail "no segment left by the killed hqd"
t3_run t3_ctl health
[ "$T3_RC" -ne 0 ] || fail "health passed with hqd killed"
[ "$T3_RC" -lt 128 ] || fail "health crashed ($T3_RC)"
assert_eq "$(wc -l <"$T/out")" 1 "lines from health with hqd killed"
t3_assert_match "$(cat "$T/out")" "^unhealthy: .*pid $dead.*not running" \
	"health with hqd killed"
# Workers do not outlive their supervisor.
hq_wait 30 "the workers to exit after their supervisor" hq__all_gone "${workers[@]}"

# stats with hqd down: exit 69, still the directories' depths.
for i in 1 2 3; do
	hq_drop "5_900$i.json" "{\"sql\":\"INSERT INTO t(v) VALUES ($i)\"}"
done
t3_run t3_ctl stats --json
assert_eq "$T3_RC" 69 "hqctl stats --json with hqd down"
cp "$T/out" "$T/down.json"
t3_json_is "$T/down.json" '$j->{queue_size}' 3
t3_json_is "$T/down.json" '$j->{processing_count}' 0
t3_json_is "$T/down.json" '$j->{queue_depth}{5}' 3
t3_json_is "$T/down.json" '$j->{daemon}' down
t3_json_is "$T/down.json" '$j->{entries_applied}' 0
t3_json_is "$T/down.json" 'scalar @{$j->{workers}}' 0
t3_assert_match "$(cat "$T/err")" "hqd is down: .*pid $dead.*not running" \
	"stats stderr with hqd down"
t3_run t3_ctl stats
assert_eq "$T3_RC" 69 "hqctl stats with hqd down"
t3_assert_match "$(cat "$T/out")" '^hqd +down$' "table with hqd down"
t3_assert_match "$(cat "$T/out")" '(^|[^0-9])3 pending, 0 processing' "table depths with hqd down"
t3_run t3_ctl stats --prometheus
assert_eq "$T3_RC" 69 "hqctl stats --prometheus with hqd down"
cp "$T/out" "$T/down.prom"
t3_prom_check "$T/down.prom"
assert_eq "$(t3_prom "$T/down.prom" hq_up)" 0 "hq_up with hqd down"
assert_eq "$(t3_prom "$T/down.prom" 'hq_queue_depth{priority="5"}')" 3 \
	"hq_queue_depth with hqd down"

# 4. Polling by request is healthy; the restarted hqd replaces the stale
# segment and applies what was dropped while it was down.
hq_start --workers 2 --heartbeat-interval 0.2 --event-loop=false
hq_wait 30 "health to pass while polling" t3__health_is 0 \
	"^healthy: hqd pid $HQ_PID, 2 workers, polling\$"
hq_wait_sql 30 "SELECT count(*) FROM t" 3
t3_stats_json "$T/poll.json"
assert_eq "$T3_RC" 0 "stats while polling"
t3_json_is "$T/poll.json" '$j->{mode}' polling
t3_json_is "$T/poll.json" '$j->{pid}' "$HQ_PID"

# 5. Stopped cleanly: no segment, health says hqd is not running.
hq_stop TERM
assert_eq "$HQ_RC" 0 "hqd exit status"
[ ! -e "/dev/shm$SEG" ] || fail "segment left after TERM"
t3_run t3_ctl health
assert_eq "$T3_RC" 1 "health with no hqd"
t3_assert_match "$(cat "$T/out")" '^unhealthy: no stats segment .*not running' \
	"health with no hqd"
t3_run t3_ctl stats
assert_eq "$T3_RC" 69 "stats with no hqd"
note "health: fresh, old heartbeat, worker killed, hqd killed, polling, stopped"
