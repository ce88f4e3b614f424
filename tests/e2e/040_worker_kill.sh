#!/usr/bin/env bash
# Workers SIGKILLed while they apply a backlog (four times, at different
# points): every entry is applied exactly once, processing/ ends empty,
# nothing fails, and the dead workers are replaced.
. "$(dirname "$0")/lib.sh"

N=${HQ_E2E_N:-5000}
hq_sql "CREATE TABLE t(v INTEGER)"	# no unique key: doubles would show
hq_start --workers 2 --batch-size 25
hq_gen "$N" t
hq__two_workers() { [ "$(hq_live_workers | wc -l)" -eq 2 ]; }
hq_wait 10 "two workers" hq__two_workers
# Published while the workers are frozen: the backlog moves only when
# hq_advance lets it.
hq_freeze
hq_publish

applied() { hq_sql "SELECT count(*) FROM t"; }
kills=0
# At each mark, the workers frozen wherever they are (mostly inside a
# batch): SIGKILL one, let the others go on.
for at in $((N / 10)) $((N / 5)) $((N / 3)) $((N / 2)); do
	hq_advance "$at" "$N"
	if [ "$(applied)" -ge "$N" ]; then
		hq_thaw
		break
	fi
	victim=$(hq_live_workers)
	victim=${victim%%$'\n'*}
	[ -n "$victim" ] || fail "no live worker at $at"
	kill -KILL "$victim"
	kills=$((kills + 1))
	hq_wait 5 "worker $victim reaped" hq_gone "$victim"
	hq_thaw
done
[ "$kills" -ge 3 ] || fail "the backlog ran out before three kills ($kills)"

hq_wait_sql 60 "SELECT count(*) FROM t" "$N"
hq_wait_drained 10
hq_assert_once t "$N"
assert_eq "$(hq_sql "SELECT count(*) FROM hq_ledger")" "$N" "ledger rows"
assert_eq "$(hq_count processing)" 0 "processing/"
assert_eq "$(hq_count failed)" 0 "failed/"
deaths=$(hq_log_count 'hqd: worker [01] \(pid [0-9]+\) killed by signal 9')
assert_eq "$deaths" "$kills" "worker deaths logged"
[ "$(hq_log_count "worker [01]: returned [0-9]+ entries to pending/")" -ge 1 ] ||
    fail "no kill caught a worker holding entries"
# Respawned: two live workers again.
hq_wait 10 "two workers again" hq__two_workers
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
assert_eq "$(hq_count processing)" 0 "processing/ after exit"
assert_eq "$(hq_count_entries pending)" 0 "pending/ after exit"
note "$kills workers killed during $N entries: each applied exactly once"
