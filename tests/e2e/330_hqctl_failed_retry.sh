#!/usr/bin/env bash
# Dead letters: entries that fail are listed by `hqctl failed` (reason and
# attempts) and `hqctl failed --json` (a JSON list with the exact reasons);
# once the cause is fixed, `hqctl retry ID` moves one back to pending/
# (its .err note removed) and hqd applies it; `retry --all` the rest; an
# entry still broken comes back to failed/. Unknown ids exit 66.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_3xx.sh"

hq_sql "CREATE TABLE t(v INTEGER)"
hq_start --workers 2
T3_SEGS+=("$(t3_seg_name "$ROOT")")

for i in 1 2 3 4; do
	hq_drop "5_000$i.json" "{\"sql\":\"INSERT INTO later(v) VALUES ($i)\"}"
done
hq_drop 5_0005.json '{"sql":"INSERT INTO t(v) VALUS (5)"}'
for i in 6 7 8; do
	hq_drop "5_000$i.json" "{\"sql\":\"INSERT INTO t(v) VALUES ($i)\"}"
done
hq_wait 30 "5 failed, 3 applied" t3__stats_has \
	'"$j->{entries_failed}/$j->{entries_applied}"' "5/3"
hq_wait_drained 30
missing='sql: no such table: later'
syntax='sql: near "VALUS": syntax error'
for i in 1 2 3 4; do
	assert_failed "5_000$i.json" "no such table: later"
done
assert_failed 5_0005.json 'VALUS.{1,3}: syntax error'

# The human list: one line per entry, in order, with attempts and reason.
t3_run t3_ctl failed
assert_eq "$T3_RC" 0 "hqctl failed exit status"
assert_eq "$(wc -l <"$T/out")" 5 "lines of hqctl failed"
ts='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'
i=0
while IFS= read -r line; do
	i=$((i + 1))
	if [ "$i" -le 4 ]; then
		want="^5_000$i\\.json +$ts +attempts 1 +$missing\$"
	else
		want="^5_0005\\.json +$ts +attempts 1 +sql: near \"VALUS\": syntax error\$"
	fi
	t3_assert_match "$line" "$want" "hqctl failed line $i"
done <"$T/out"

# The JSON list: valid JSON, exact reasons.
t3_run t3_ctl failed --json
assert_eq "$T3_RC" 0 "hqctl failed --json exit status"
cp "$T/out" "$T/failed.json"
t3_json_is "$T/failed.json" 'ref $j' ARRAY
t3_json_is "$T/failed.json" 'scalar @$j' 5
t3_json_is "$T/failed.json" 'join ",", map { $_->{entry} } @$j' \
	"5_0001.json,5_0002.json,5_0003.json,5_0004.json,5_0005.json"
for i in 0 1 2 3; do
	t3_json_is "$T/failed.json" "\$j->[$i]{error}" "$missing"
done
t3_json_is "$T/failed.json" '$j->[4]{error}' "$syntax"
t3_json_is "$T/failed.json" 'join ",", map { $_->{attempts} } @$j' "1,1,1,1,1"
t3_json_is "$T/failed.json" \
	'join ",", map { $_->{failed_at} =~ /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/ ? 1 : 0 } @$j' \
	"1,1,1,1,1"
# attempts is a number, not a string
t3_assert_match "$(cat "$T/failed.json")" '"attempts":1[,}]' "attempts type"

# Fix the cause, retry one by its id (the name without .json).
hq_sql "CREATE TABLE later(v INTEGER)"
t3_run t3_ctl retry 5_0001
assert_eq "$T3_RC" 0 "retry 5_0001"
assert_eq "$(cat "$T/out")" 5_0001.json "retry prints the name"
[ ! -e "$ROOT/failed/5_0001.json.err" ] || fail "retry left 5_0001.json.err"
[ ! -e "$ROOT/failed/5_0001.json" ] || fail "retry left 5_0001.json in failed/"
hq_wait_sql 30 "SELECT group_concat(v) FROM later" 1
# by its full name
t3_run t3_ctl retry 5_0002.json
assert_eq "$T3_RC" 0 "retry 5_0002.json"
assert_eq "$(cat "$T/out")" 5_0002.json "retry prints the name"
hq_wait_sql 30 "SELECT group_concat(v) FROM later ORDER BY v" "1,2"
[ ! -e "$ROOT/failed/5_0002.json.err" ] || fail "retry left 5_0002.json.err"

# Unknown ids, usage
for id in 5_0001 5_0099 nosuch 5_0099.json ../t 5_0001.json.err ''; do
	t3_run t3_ctl retry "$id"
	assert_eq "$T3_RC" 66 "retry of '$id'"
	t3_assert_match "$(cat "$T/err")" "^hqctl: no failed entry" "retry of '$id': message"
done
t3_run t3_ctl retry
assert_eq "$T3_RC" 64 "retry with no id"
t3_run t3_ctl failed --bogus
assert_eq "$T3_RC" 64 "failed --bogus"

# The rest: the fixed ones are applied, the broken one comes back.
t3_run t3_ctl retry --all
assert_eq "$T3_RC" 0 "retry --all"
assert_eq "$(tr '\n' ' ' <"$T/out")" "5_0003.json 5_0004.json 5_0005.json " \
	"retry --all prints the names"
hq_wait_sql 30 "SELECT group_concat(v) FROM (SELECT v FROM later ORDER BY v)" "1,2,3,4"
hq_wait 30 "5_0005.json back in failed/" t3__stats_has '$j->{entries_failed}' 6
hq_wait_drained 30
assert_failed 5_0005.json 'VALUS.{1,3}: syntax error'
assert_eq "$(hq_count_entries failed)" 1 "entries left in failed/"
assert_eq "$(find "$ROOT/failed" -name '*.err' | wc -l)" 1 "notes left in failed/"
t3_run t3_ctl failed --json
cp "$T/out" "$T/failed2.json"
t3_json_is "$T/failed2.json" 'join ",", map { "$_->{entry}=$_->{error}" } @$j' \
	"5_0005.json=$syntax"
assert_eq "$(hq_sql "SELECT count(*) FROM t")" 3 "rows of t"
t3__stats_has '"$j->{entries_applied}/$j->{entries_failed}"' "7/6" ||
	fail "stats after the retries: $(t3_json "$T/st.json" '"$j->{entries_applied}/$j->{entries_failed}"')"

# Empty: says so; the JSON list is empty.
rm -f "$ROOT"/failed/*
t3_run t3_ctl failed
assert_eq "$T3_RC" 0 "hqctl failed with none"
assert_eq "$(cat "$T/out")" "no failed entries" "hqctl failed with none"
t3_run t3_ctl failed --json
assert_eq "$T3_RC" 0 "hqctl failed --json with none"
t3_json_is "$T/out" 'ref($j) . scalar(@$j)' ARRAY0
t3_run t3_ctl retry --all
assert_eq "$T3_RC" 0 "retry --all with none"
assert_eq "$(cat "$T/out")" "" "retry --all with none prints nothing"

hq_stop TERM
assert_eq "$HQ_RC" 0 "hqd exit status"
note "failed lists reasons; retry ID and --all bring entries back"
