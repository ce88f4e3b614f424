#!/usr/bin/env bash
# Issue 11, class 1: TEMP objects an entry creates must not outlive it and
# shadow hq's ledger or a user's table. Each hostile entry below goes to
# failed/ with a reason naming TEMP; the innocent entries around it, in the
# same batch (all published before hqd starts: one WORK of --batch-size
# 256) and in batches of their own (one at a time while hqd runs), are each
# applied exactly once to the main table, and a repeated "id" is skipped
# (neither applied nor failed). One worker, so that one connection sees
# everything; a fresh hqd per round.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_3xx.sh"

hq_sql "CREATE TABLE t(x); CREATE TABLE u(x)"

# The hostile entries and the table their innocent neighbours write to.
H_WHAT=(ledger_table ledger_view temp_t temp_u temp_trigger)
H_SQL=(
	'CREATE TEMP TABLE hq_ledger(id TEXT, applied_at INT, k DEFAULT 1 PRIMARY KEY)'
	'CREATE TEMP VIEW hq_ledger AS SELECT 1 AS id, 2 AS applied_at'
	'CREATE TEMP TABLE t(x)'
	'CREATE TABLE temp.u(x)'
	'CREATE TEMP TRIGGER tt BEFORE INSERT ON t BEGIN SELECT RAISE(IGNORE); END'
)
H_TAB=(t t t u t)

V=0		# the last value an innocent entry inserted
HOSTILE=()	# every hostile entry's name: failed/ holds these only
INNOCENT=()	# every innocent entry's name

# round K MODE: hostile K among innocents; MODE batch (one WORK) or apart
# (one entry at a time). Checks softly, so that one run shows every round.
round() {
	local k=$1 mode=$2 tab=${H_TAB[$1]} what="${H_WHAT[$1]}/$2"
	local names=() sqls=() ids=() want=() lo=$((V + 1)) hname key i n
	add() {		# add SQL [ID]
		names+=("$(hq_name)")
		sqls+=("$1")
		ids+=("${2:-}")
	}
	ins() {		# ins: an innocent insert of the next value
		V=$((V + 1))
		add "INSERT INTO $tab(x) VALUES ($V)" "${1:-}"
	}
	ins
	add "${H_SQL[$k]}"
	hname=${names[-1]}
	ins
	# Two entries with one id: the first applied, the second skipped.
	key="key-$k-$mode"
	ins "$key"
	ins "$key"
	local dup=$V
	ins
	for i in "${!names[@]}"; do
		[ "${names[$i]}" = "$hname" ] && continue
		INNOCENT+=("${names[$i]}")
	done
	HOSTILE+=("$hname")
	for ((n = lo; n <= V; n++)); do
		[ "$n" -eq "$dup" ] || want+=("$n")
	done

	if [ "$mode" = batch ]; then
		for i in "${!names[@]}"; do
			hq_put "${names[$i]}" "${sqls[$i]}" "${ids[$i]}"
		done
		hq_publish
		hq_start --workers 1
		hq_wait_drained 30
	else
		hq_start --workers 1
		for i in "${!names[@]}"; do
			hq_put_publish "${names[$i]}" "${sqls[$i]}" "${ids[$i]}"
			hq_wait_drained 30
		done
	fi
	hq_stop TERM

	t3_check "$what: the hostile entry in failed/, its reason naming TEMP" \
	    hq_sub hq_failed_why "$hname" '(^|[^a-z])temp'
	t3_check_eq "$(hq_sql "SELECT group_concat(x, ' ') FROM (SELECT x FROM
	    main.$tab WHERE x BETWEEN $lo AND $V ORDER BY x)")" "${want[*]}" \
	    "$what: values applied to main.$tab (each once; $dup is the repeated id)"
	for i in "${!names[@]}"; do
		[ "${names[$i]}" = "$hname" ] && continue
		t3_check "$what: innocent ${names[$i]} not in failed/" \
		    test ! -e "$ROOT/failed/${names[$i]}"
	done
	t3_check_eq "$(hq_sql "SELECT count(*) FROM main.hq_ledger WHERE id = '$key'")" \
	    1 "$what: ledger rows of id $key"
}

for k in "${!H_SQL[@]}"; do
	round "$k" batch
	round "$k" apart
done

# No innocent entry passed for "already applied" but the repeated ids.
for n in "${INNOCENT[@]}"; do
	t3_check_eq "$(grep -i 'already applied' "$LOG" | grep -c -F -- "$n: id ${n%.json} " || true)" \
	    0 "$n skipped as already applied"
done
t3_check "failed/ holds the hostile entries and nothing else" \
    hq_sub hq_failed_only "${HOSTILE[@]}"
t3_check_eq "$(hq_sql "SELECT count(*) FROM t") $(hq_sql "SELECT count(*) FROM u")" \
    "$(hq_sql "SELECT count(DISTINCT x) FROM t") $(hq_sql "SELECT count(DISTINCT x) FROM u")" \
    "no value applied twice"
t3_done
note "${#HOSTILE[@]} TEMP entries failed; ${#INNOCENT[@]} innocent entries applied once"
