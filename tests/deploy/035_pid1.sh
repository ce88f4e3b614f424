#!/usr/bin/env bash
# hqd as PID 1, as in the container (no tini, no --init): in a PID
# namespace of its own, it reaps an orphan reparented to it (libev's child
# watcher waits for any pid), applies entries, and TERM drains and exits 0
# (PID 1 ignores signals it has no handler for; hqd has one).
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/lib.sh"
need unshare nsenter
unshare --pid --fork --mount-proc true 2>/dev/null ||
    skip "no PID namespaces here (unshare --pid refused)"

: >>"$LOG"
unshare --pid --fork --mount-proc "$HQD" --root "$ROOT" --db "$DB" >>"$LOG" 2>&1 &
U=$!
HQ_BG+=("$U")
hq__hqd_up() {
	HQ_PID=$(pgrep -P "$U" -x hqd || true)
	[ -n "$HQ_PID" ] && grep -q ': ready: ' "$LOG"
}
hq_wait 10 "hqd in its namespace" hq__hqd_up
assert_eq "$(awk '/^NSpid:/ { print $NF }' "/proc/$HQ_PID/status")" 1 "hqd's pid in its namespace"

hq__reaped() {
	[ ! -e "/proc/$1" ]
}

# An orphan: sh starts sleep in the background and exits; the sleep is
# reparented to PID 1 of the namespace, hqd.
nsenter -t "$HQ_PID" -p -- sh -c 'sleep 0.3 & exit 0'
orphan=$(pgrep -P "$HQ_PID" -x sleep || true)
[ -n "$orphan" ] || fail "the orphan was not reparented to hqd"
hq_wait 5 "the orphan reaped (no zombie)" hq__reaped "$orphan"

hq_drop 5_1.json '{"sql":"CREATE TABLE t(v)"}'
hq_wait_sql 10 "SELECT count(*) FROM sqlite_master WHERE name='t'" 1
grep -qE 'worker .* (exited|killed)' "$LOG" && fail "hqd took the orphan for a worker"

kill -TERM "$HQ_PID"
rc=0
wait "$U" || rc=$?
HQ_PID=
assert_eq "$rc" 0 "exit status of hqd as PID 1 after TERM"
grep -q 'SIGTERM: draining' "$LOG" || fail "no drain logged"
note "ok"
