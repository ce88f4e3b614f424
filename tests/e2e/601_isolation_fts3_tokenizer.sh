#!/usr/bin/env bash
# Issue 11, class 2: fts3_tokenizer() is refused, literal and bound. Its
# one-argument form leaks a library address; its two-argument form with an
# 8-byte value (a MessagePack bin, or JSON text of 8 bytes, both bound)
# replaces the "simple" tokenizer of the connection with a pointer the
# worker then calls at the next fts3 use. Each such entry goes to failed/
# (nothing inserted), later fts3 tables are created and used normally, in
# batches of their own (round 1) and in the override's batch (round 2), and
# no worker dies (no log line, supervisor.deaths 0, one spawn per slot).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_3xx.sh"
: "${MKMSGPACK:?MKMSGPACK must point at the mkmsgpack helper}"

hq_sql "CREATE TABLE leak(v); CREATE TABLE plain(v)"

# mp_put NAME SQL PARAM...: a MessagePack entry in .tmp/.
mp_put() {
	local name=$1
	shift
	mkdir -p "$ROOT/.tmp" "$ROOT/pending"
	"$MKMSGPACK" "$@" >"$ROOT/.tmp/$name"
}
# json_override NAME: the bound override through JSON (8 bytes of text).
json_override() {
	mkdir -p "$ROOT/.tmp" "$ROOT/pending"
	printf '{"sql":"SELECT fts3_tokenizer(?, ?)","params":["simple","BBBBBBBB"]}' \
	    >"$ROOT/.tmp/$1"
}
settle() {	# settle NAME: publish .tmp/NAME and wait until it is settled
	mv "$ROOT/.tmp/$1" "$ROOT/pending/$1"
	hq_wait_drained 30
}
deaths() {	# deaths WHAT: this hqd has lost no worker
	t3_check "$1: no worker died" hq_sub hq_no_worker_death
}

# Round 1: one entry at a time, one worker (one connection sees them all).
hq_start --workers 1
lit=$(hq_name)
hq_put "$lit" "INSERT INTO leak(v) SELECT fts3_tokenizer('simple')"
settle "$lit"
bin=$(hq_name)
bin=${bin%.json}.msgpack
mp_put "$bin" 'SELECT fts3_tokenizer(?, ?)' simple bin:4141414141414141
settle "$bin"
txt=$(hq_name)
json_override "$txt"
settle "$txt"
mk=$(hq_name)
hq_put "$mk" 'CREATE VIRTUAL TABLE ft USING fts3(x)'
settle "$mk"
use=$(hq_name)
hq_put "$use" "INSERT INTO ft(x) VALUES ('hello')"
settle "$use"
deaths "round 1"
hq_stop TERM

t3_check "literal fts3_tokenizer('simple') failed, naming fts3_tokenizer" \
    hq_sub hq_failed_why "$lit" 'fts3.?tokeni'
t3_check "bound fts3_tokenizer(?, ?) (MessagePack bin) failed" \
    hq_sub assert_failed "$bin" '.'
t3_check "bound fts3_tokenizer(?, ?) (JSON text) failed" \
    hq_sub assert_failed "$txt" '.'
t3_check_eq "$(hq_sql "SELECT count(*) FROM leak")" 0 "rows in leak"
t3_check_eq "$(hq_sql "SELECT x FROM ft WHERE ft MATCH 'hello'")" hello \
    "the fts3 table made after the override, queried"

# Round 2: the override and the fts use in one batch (published before
# hqd starts).
over2=$(hq_name)
over2=${over2%.json}.msgpack
mp_put "$over2" 'SELECT fts3_tokenizer(?, ?)' simple bin:4141414141414141
hq_put "$(hq_name)" 'CREATE VIRTUAL TABLE ft2 USING fts4(x)'
hq_put "$(hq_name)" "INSERT INTO ft2(x) VALUES ('world')"
hq_put "$(hq_name)" 'INSERT INTO plain(v) VALUES (1)'
hq_publish
hq_start --workers 1
hq_wait_drained 30
deaths "round 2"
hq_stop TERM

t3_check "round 2: the override failed" hq_sub assert_failed "$over2" '.'
t3_check_eq "$(hq_sql "SELECT x FROM ft2 WHERE ft2 MATCH 'world'")" world \
    "round 2: the fts4 table made in the override's batch, queried"
t3_check_eq "$(hq_sql "SELECT count(*) FROM plain")" 1 "round 2: rows in plain"
t3_check "failed/ holds the overrides and nothing else" \
    hq_sub hq_failed_only "$lit" "$bin" "$txt" "$over2"
t3_done
note "fts3_tokenizer refused literal and bound; fts3/fts4 usable after; no worker died"
