#!/usr/bin/env bash
# Issue 13: the isolation rules of the local sink hold on a dqlite cluster,
# whose server runs no authorizer of hq's. Every hostile entry below goes
# to failed/ with the reason the local sink gives, its innocent neighbours
# in the same batch (all published before hqd starts: one WORK) are each
# applied exactly once, and nothing the hostile ones tried is on the
# cluster. Then:
#  - ledger rows older than --ledger-days are pruned at connect;
#  - last_insert_rowid() starts at 0 for every entry, as locally, not at
#    the row a neighbour inserted on the same server connection;
#  - an entry's CREATE TABLE is visible to its own next statement (the
#    guard's schema copy is refreshed within the transaction), and an
#    entry's SELECT, RETURNING and multi-statement parameters work;
#  - a runaway statement on a 3-node cluster fails alone once it runs past
#    --statement-timeout: its neighbours are applied (on another leader if
#    it holds the first one), exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_dqlite.sh"

dq_cluster 3
DB=$(dq_uri)
dq_sql "CREATE TABLE t(x INTEGER)" "CREATE TABLE r(x INTEGER)" \
    "CREATE TABLE dt(d DATETIME, b BOOLEAN)" >/dev/null

dq_one() {	# dq_one SQL: the last line the shell printed
	dq_sql "$1" | tail -n 1
}

# 1. Hostile entries among innocents, one batch, one worker.
H_SQL=(
	'CREATE TEMP TABLE hq_ledger(id TEXT, applied_at INT)'
	'CREATE TABLE temp.u(x)'
	'CREATE TEMP TRIGGER tt BEFORE INSERT ON t BEGIN SELECT RAISE(IGNORE); END'
	"ATTACH DATABASE '$T/other.db' AS o"
	'BEGIN'
	'COMMIT'
	'SAVEPOINT s1'
	'PRAGMA foreign_keys=ON'
	"SELECT fts3_tokenizer('simple')"
	"SELECT load_extension('libm.so.6')"
	'SELECT total_changes()'
	"INSERT INTO hq_ledger(id, applied_at) VALUES ('forged', 0)"
	'SELECT count(*) FROM hq_ledger'
	'DELETE FROM hq_ledger_rowid'
	'INSERT INTO t(x) VALUES (-1); CREATE TEMP VIEW v AS SELECT 1'
	'INSERT INTO dt(d) VALUES (1.5) RETURNING d'
	"INSERT INTO dt(b) VALUES ('x'); SELECT b FROM dt"
)
H_WHY=(temp temp temp attach transactions transactions transactions pragma
    fts3_tokenizer 'load extensions' total_changes ledger ledger ledger temp
    DATETIME BOOLEAN)
HOSTILE=()
v=0
for i in "${!H_SQL[@]}"; do
	v=$((v + 1))
	hq_put "$(hq_name)" "INSERT INTO t(x) VALUES ($v)"
	n=$(hq_name)
	HOSTILE+=("$n")
	hq_put "$n" "${H_SQL[$i]}"
done
v=$((v + 1))
hq_put "$(hq_name)" "INSERT INTO t(x) VALUES ($v)"
hq_publish
hq_start --workers 1 --batch-size 256
hq_wait_drained 60
hq_stop TERM
for i in "${!HOSTILE[@]}"; do
	hq_failed_why "${HOSTILE[$i]}" "${H_WHY[$i]}"
done
hq_failed_only "${HOSTILE[@]}"
assert_eq "$(dq_one "SELECT count(*) FROM t")" "$v" "innocent rows"
assert_eq "$(dq_one "SELECT count(DISTINCT x) FROM t WHERE x > 0")" "$v" \
    "distinct innocent rows"
assert_eq "$(dq_one "SELECT count(*) FROM t WHERE x < 0")" 0 \
    "rows of the hostile multi-statement entry"
assert_eq "$(dq_one "SELECT count(*) FROM hq_ledger WHERE id = 'forged'")" 0 \
    "forged ledger rows"
assert_eq "$(dq_one "SELECT count(*) FROM dt")" 0 "rows of the typed reads"
for i in 0 1 2; do
	kill -0 "${DQ_PID[$i]}" 2>/dev/null || fail "dqlite node $i died"
done
note "${#HOSTILE[@]} hostile entries refused on the cluster, $v neighbours applied"
rm -rf "$ROOT/failed"

# 2. last_insert_rowid(), a new table used at once, rows, parameters; and
# the ledger pruned at connect (--ledger-days) as locally.
dq_sql "INSERT INTO hq_ledger(id, applied_at) VALUES ('ancient', 0)" >/dev/null
hq_put "$(hq_name)" "INSERT INTO t(x) VALUES (1000)"
hq_put "$(hq_name)" "INSERT INTO r(x) VALUES (last_insert_rowid())"
hq_put "$(hq_name)" "CREATE TABLE n(a, b); INSERT INTO n(a, b) VALUES (1, 2)"
hq_put "$(hq_name)" "SELECT count(*) FROM t"
hq_put "$(hq_name)" "INSERT INTO n(a, b) VALUES (3, 4) RETURNING a"
n=$(hq_name)
printf '{"sql":"INSERT INTO n(a, b) VALUES (?, ?); INSERT INTO n(a) VALUES (?)","params":[5,"six",7]}' \
    >"$ROOT/.tmp/$n"
hq_publish
hq_start --workers 1 --batch-size 256
hq_wait_drained 60
hq_stop TERM
assert_eq "$(hq_count failed)" 0 "failed/ in part 2"
assert_eq "$(dq_one "SELECT count(*) FROM hq_ledger WHERE id = 'ancient'")" 0 \
    "a ledger row past --ledger-days"
assert_eq "$(dq_one "SELECT x FROM r")" 0 \
    "last_insert_rowid() at the start of an entry"
assert_eq "$(dq_one "SELECT group_concat(a || ':' || ifnull(b, '-'), ' ') FROM (SELECT a, b FROM n ORDER BY a)")" \
    "1:2 3:4 5:six 7:-" "rows of table n"

# 3. A runaway statement: its neighbours go on without it.
hq_put "$(hq_name)" "INSERT INTO t(x) VALUES (2001)"
run=$(hq_name)
hq_put "$run" "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 200000000) INSERT INTO t(x) SELECT -count(*) FROM c"
hq_put "$(hq_name)" "INSERT INTO t(x) VALUES (2002)"
hq_publish
t0=$(date +%s)
hq_start --workers 1 --batch-size 256 --statement-timeout 2
hq_wait_drained 120
hq_stop TERM
hq_failed_why "$run" 'statement timeout'
hq_failed_only "$run"
dq__count_is() {
	[ "$(dq_one "SELECT count(*) FROM t WHERE x IN (2001, 2002)")" = 2 ]
}
hq_wait 120 "the runaway's neighbours on the cluster" dq__count_is
assert_eq "$(dq_one "SELECT count(*) FROM t WHERE x < 0")" 0 \
    "rows of the runaway"
note "runaway failed alone; neighbours applied $(($(date +%s) - t0)) s after start"
