#!/usr/bin/env bash
# One worker applies a backlog in the exact order of the contract: priority
# as a number (2 before 10), then SEQ with digit runs compared as numbers
# (9 before 10, 999 before 1000, a 24-digit run before a 25-digit one),
# across several batches.
. "$(dirname "$0")/lib.sh"

hq_sql "CREATE TABLE ord(n INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT)"

# The expected application order, written out by hand (not computed).
want="1_1795714996882757219_1
1_1795714996882757219_2
1_1795714996882757219_10
2_5
2_9
2_10
2_100
3_a
3_a1
3_a_9
3_a_10
3_b
4_0
5_999_1
5_999_2
5_1000_1
5_999999999999999999999999
5_1000000000000000000000000
5_x-9
5_x-10
6_z
7_7
8_1795714997463084351_3
9_1795714997463084351_3
9_1795714997515990140_5
10_1
10_2
10_11"

# Written to .tmp/ in a shuffled order, published in one burst while hqd is
# not running: the order below cannot come from the directory listing.
mkdir -p "$ROOT/.tmp" "$ROOT/pending"
for name in $(printf '%s\n' "$want" | perl -MList::Util=shuffle -e \
    'srand(42); print shuffle(<STDIN>)'); do
	printf '{"sql":"INSERT INTO ord(name) VALUES (?)","params":["%s"]}' \
	    "$name" >"$ROOT/.tmp/$name.json"
done
hq_publish
assert_eq "$(hq_count_entries pending)" 28 "entries published"

hq_start --workers 1 --batch-size 4
hq_wait_sql 20 "SELECT count(*) FROM ord" 28
hq_wait_drained 10
got=$(hq_sql "SELECT name FROM ord ORDER BY n")
if [ "$got" != "$want" ]; then
	diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") >&2 || true
	fail "application order differs (- want, + got)"
fi
assert_eq "$(hq_count failed)" 0 "failed/"
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
note "28 entries applied in priority, then numeric SEQ order"
