#!/usr/bin/env bash
# Low file-descriptor limits (issue 12, item 5). hqd counts at start the
# descriptors its configuration needs (workers, --http), raises the soft
# limit to the hard one when that is short, and otherwise exits 71 with
# one line naming what it needs and the limit it has: no abort (libev's
# at 12), no flood of retried socketpairs (at 16), nothing half started.
# With enough, it runs: 64 is plenty for 2 workers without --http.
. "$(dirname "$0")/lib.sh"
hq4_trap
command -v prlimit >/dev/null || { note "skip: no prlimit"; exit 77; }

hq_sql "CREATE TABLE t(v INTEGER)"

# refused LIMIT ARGS...: hqd under RLIMIT_NOFILE LIMIT exits 71 at once,
# one line, naming a need above LIMIT and LIMIT itself.
refused() {
	local lim=$1 t0 ms line need
	shift
	t0=$(date +%s%N)
	HQ_RC=0
	timeout 10 prlimit --nofile="$lim" "$HQD" --root "$ROOT" --db "$DB" "$@" \
	    >"$T/run.out" 2>"$T/run.err" || HQ_RC=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$HQ_RC" -lt 128 ] || fail "nofile $lim $*: died by signal $((HQ_RC - 128))"
	assert_eq "$HQ_RC" 71 "nofile $lim $*: exit status ($(cat "$T/run.err"))"
	[ "$ms" -lt 5000 ] || fail "nofile $lim $*: $ms ms to give up"
	assert_eq "$(wc -l <"$T/run.err")" 1 "nofile $lim $*: lines logged"
	line=$(cat "$T/run.err")
	assert_match "$line" "need [0-9]+ file descriptors .*, the limit is ${lim##*:} \\(hard ${lim##*:}\\)" \
	    "nofile $lim $*: message"
	need=$(sed -E 's/.* need ([0-9]+) file descriptors.*/\1/' <<<"$line")
	[ "$need" -gt "${lim##*:}" ] || fail "nofile $lim $*: needs $need, within the limit"
	[ -z "$(ls -A "$ROOT/processing" 2>/dev/null)" ] ||
	    fail "nofile $lim $*: processing/ not empty"
	note "nofile $lim $*: exit 71 in $ms ms: $line"
}

refused 12:12
refused 16:16
refused 16:16 --workers 8
refused 64:64 --workers 64
refused 64:64 --http 127.0.0.1:0

# 64 for 2 workers: runs and applies.
HQ_PREFIX=(prlimit --nofile=64:64)
hq_start --workers 2
hq_gen 100 t
hq_publish
hq_wait_sql 30 "SELECT count(*) FROM t" 100
hq_wait_drained 10
hq_assert_once t 100
assert_eq "$(hq_log_count 'Too many open files')" 0 "EMFILE in the log"
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status under nofile 64"

# A short soft limit under this shell's hard one: raised, logged once,
# runs (8 workers and --http need about 170).
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -gt 4096 ]; then
	hard=4096
fi
[ "$hard" -ge 256 ] || { note "skip the raise: hard limit $hard"; exit 0; }
HQ_PREFIX=(prlimit --nofile=16:"$hard")
hq_log_mark
hq_start --workers 8 --http 127.0.0.1:0
assert_match "$(grep -E '^Max open files' "/proc/$HQ_PID/limits")" \
    "^Max open files +$hard +$hard " "hqd's limits after raising"
assert_eq "$(hq_log_count_since "raised the open files limit from 16 to $hard")" 1 \
    "the raise logged"
hq_gen 100 t 5 101
hq_publish
hq_wait_sql 30 "SELECT count(*) FROM t" 200
hq_wait_drained 10
hq_assert_once t 200
assert_eq "$(hq_log_count 'Too many open files')" 0 "EMFILE in the log"
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status after raising the limit"
note "low limits: exit 71 naming the need; a short soft limit raised"
