#!/usr/bin/env bash
# processing/ removed under a running hqd (its workers rebuild their
# folders on their next claim, 440), and later a worker dies holding
# entries (killed while it retries against a database lock): the entries
# it held must go back to pending/ as soon as its death is seen
# (docs/architecture.md, recovery), be applied exactly once, and nothing may be left in
# processing/ when hqd exits.
. "$(dirname "$0")/lib.sh"
: "${HQCTL:?HQCTL must point at the hqctl binary}"
hq4_trap

hq_sql "CREATE TABLE t(v INTEGER)"
hq_start --workers 1 --rescan-interval 0.5 --busy-timeout 200 \
    --max-retries 1000 --retry-base 0.1
hq_gen 10 t
hq_publish
hq_wait_sql 30 "SELECT count(*) FROM t" 10
hq_wait_drained 10

rm -rf "$ROOT/processing"
hq_hold 120
hq_log_mark
hq_gen 5 t 5 11
hq_publish
hq_wait 30 "the worker retrying against the lock" \
    hq__log_since_has 'hqd worker 0: batch of [0-9]+: .*locked'
[ -d "$ROOT/processing/w0" ] || fail "processing/w0 not rebuilt"
held=$(ls "$ROOT/processing/w0" | sort | tr '\n' ' ')
[ -n "$held" ] || fail "the worker holds nothing"
worker=$(hq_live_workers)
kill -KILL "$worker"
hq_wait 10 "the death seen" hq__log_since_has "worker 0 \(pid $worker\) killed by signal 9"
hq_wait 20 "the dead worker's entries ($held) returned to pending/" \
    hq__log_since_has 'worker 0: returned [0-9]+ entries to pending/'
hq_release
hq_wait_sql 60 "SELECT count(*) FROM t" 15
hq_wait_drained 30
hq_assert_once t 15
assert_eq "$(hq_count failed)" 0 "failed/"
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
assert_eq "$(hq_count processing)" 0 "processing/ at exit"
note "processing/ removed, then a worker died holding $held: recovered"
