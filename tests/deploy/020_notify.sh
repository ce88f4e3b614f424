#!/usr/bin/env bash
# hqd's systemd notification protocol, against a datagram socket of our own
# (no systemd needed): READY=1, then STATUS=/WATCHDOG=1 per tick, STOPPING=1
# after TERM, in that order; WATCHDOG=1 withheld from the moment a worker
# dies until its successor is up; the variables not passed to workers;
# WATCHDOG_PID naming another process turns the watchdog off.
. "$(dirname "$0")/../e2e/lib.sh"

SOCK=$T/notify.sock
MSGS=$T/notify.log
: >"$MSGS"
perl "$(dirname "$0")/notify_listen.pl" "$SOCK" "$MSGS" >"$T/listen.out" &
HQ_BG+=($!)
hq_wait 10 "the listener" grep -q listening "$T/listen.out"

hq__log_has_n() {
	[ "$(grep -c -- "$1" "$MSGS" || true)" -ge "$2" ]
}

hq__one_live() {
	local p
	p=$(hq_live_workers | sed -n 1p)
	[ -n "$p" ] && [ "$p" != "${victim:-}" ]
}

# started_s PID: when PID was forked, wall clock seconds (kernel ticks:
# 10 ms, rounded down, so never after the fact).
started_s() {
	local hz btime st
	hz=$(getconf CLK_TCK)
	btime=$(awk '$1 == "btime" { print $2 }' /proc/stat)
	st=$(cat "/proc/$1/stat")
	st=${st##*) }
	awk -v b="$btime" -v hz="$hz" -v s="$(echo "$st" | cut -d' ' -f20)" \
	    'BEGIN { printf "%.6f\n", b + s / hz }'
}

now_s() {	# wall clock, seconds with 6 decimals (as the listener writes)
	local ns
	ns=$(date +%s%N)
	echo "${ns:0:-9}.${ns: -9:6}"
}

# A tick every 0.2 s: hqd pings at WATCHDOG_USEC / 2.
export NOTIFY_SOCKET=$SOCK WATCHDOG_USEC=400000
hq_start --workers 1
hq_wait 10 "READY=1" grep -q 'READY=1' "$MSGS"
hq_wait 10 "three pings" hq__log_has_n 'WATCHDOG=1' 3


# The order so far: READY=1 (with a STATUS) first, nothing before it.
first=$(head -n 1 "$MSGS" | cut -d' ' -f2-)
assert_match "$first" '^READY=1\|STATUS=ready: 1 workers, inotify$' "first datagram"
assert_match "$(sed -n 2p "$MSGS")" ' STATUS=[0-9]+ queued, [0-9]+ applied, [0-9]+ failed, 1/1 workers$' \
    "second datagram"

# The workers got none of it.
for p in $(hq_live_workers); do
	if tr '\0' '\n' <"/proc/$p/environ" | grep -qE '^(NOTIFY_SOCKET|WATCHDOG_USEC|WATCHDOG_PID)='; then
		fail "worker $p inherited the notify variables"
	fi
done

# Kill the worker, and its successors as they come: a worker that dies
# without doing any work is respawned after a backoff that doubles from
# 0.1 s, so the fifth death leaves the slot empty for 1.6 s. From that
# death until the successor's fork: ticks, but no WATCHDOG=1.
t_fork=
for i in 1 2 3 4 5; do
	hq_wait 10 "a live worker" hq__one_live
	victim=$(hq_live_workers | sed -n 1p)
	t_kill=$(now_s)
	kill -KILL "$victim"
done
hq__successor() {
	local p
	p=$(hq_live_workers | sed -n 1p)
	[ -n "$p" ] && [ "$p" != "$victim" ] || return 1
	t_fork=$(started_s "$p")
}
hq_wait 10 "the worker respawned" hq__successor
hq_wait 10 "STATUS with 1/1 workers again" awk -v t="$t_fork" \
    '$1 > t && / 1\/1 workers$/ { ok = 1 } END { exit !ok }' "$MSGS"
hq_wait 10 "a ping after the respawn" awk -v t="$t_fork" \
    '$1 > t && $2 == "WATCHDOG=1" { ok = 1 } END { exit !ok }' "$MSGS"
awk -v a="$t_kill" -v b="$t_fork" '
	$1 > a + 0.05 && $1 < b && $2 == "WATCHDOG=1" { bad++ }
	$1 > a + 0.05 && $1 < b && / 0\/1 workers$/ { withheld++ }
	END {
		if (bad) { print "pinged while the worker was down: " bad; exit 1 }
		if (withheld < 3) { print "ticks while down: " withheld + 0; exit 1 }
	}' "$MSGS" || { cat "$MSGS" >&2; fail "watchdog while a worker was down"; }

# Each tick's STATUS decides: a ping after every 1/1, never after 0/1.
awk '
	prev ~ / 0\/1 workers$/ && $2 == "WATCHDOG=1" { print "ping after " prev; bad = 1 }
	prev ~ / 1\/1 workers$/ && $2 != "WATCHDOG=1" && $2 !~ /^STOPPING/ { print "no ping after " prev; bad = 1 }
	{ prev = $0 }
	END { exit bad }' "$MSGS" || fail "pings do not follow the worker count"

# TERM: STOPPING=1, the last word; nothing pings after it.
hq_stop
assert_eq "$HQ_RC" 0 "exit status after TERM"
hq_wait 5 "STOPPING=1" grep -q 'STOPPING=1' "$MSGS"
assert_match "$(tail -n 1 "$MSGS")" ' STOPPING=1\|STATUS=draining: SIGTERM' "last datagram"
assert_eq "$(grep -c 'READY=1' "$MSGS")" 1 "READY=1 datagrams"
assert_eq "$(grep -c 'STOPPING=1' "$MSGS")" 1 "STOPPING=1 datagrams"
awk '/READY=1/ { r = NR } /STOPPING=1/ { s = NR } /WATCHDOG=1/ { if (!r || s) bad = 1 }
	END { exit bad || !(r < s) }' "$MSGS" || fail "order READY < WATCHDOG < STOPPING"

# WATCHDOG_PID naming another process: that process is watched, not hqd.
: >"$MSGS"
WATCHDOG_PID=1 hq_start --heartbeat-interval 0.2
hq_wait 10 "a few ticks" hq__log_has_n 'STATUS=' 5
hq_stop
if grep -q 'WATCHDOG=1' "$MSGS"; then
	fail "WATCHDOG=1 sent though WATCHDOG_PID is not hqd"
fi

# No NOTIFY_SOCKET: hqd runs as always (nothing to assert but the exit).
unset NOTIFY_SOCKET WATCHDOG_USEC
hq_start
hq_stop
assert_eq "$HQ_RC" 0 "without NOTIFY_SOCKET"
note "ok"
