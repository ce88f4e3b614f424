#!/usr/bin/env bash
# A reason note can quote the database (json_extract's error names the
# path it was given, here a secret selected from a table): it is created no
# more readable than the entry it describes, nor than the database, and
# its error text is cut at 500 bytes (marked "..."), between characters.
. "$(dirname "$0")/lib.sh"

umask 022
hq_sql "CREATE TABLE secrets(s TEXT)"
hq_sql "INSERT INTO secrets VALUES ('hunter2-topsecret')"
chmod 600 "$DB"
hq_start --workers 1

# drop_mode NAME MODE BODY: hq_drop with the entry file's mode set.
drop_mode() {
	mkdir -p "$ROOT/.tmp" "$ROOT/pending"
	printf '%s' "$3" >"$ROOT/.tmp/$1"
	chmod "$2" "$ROOT/.tmp/$1"
	mv "$ROOT/.tmp/$1" "$ROOT/pending/$1"
}

# note_mode NAME: the octal mode of failed/NAME.err once it is there.
note_mode() {
	hq_wait 20 "failed/$1.err" test -e "$ROOT/failed/$1"
	stat -c %a "$ROOT/failed/$1.err"
}

leak='{"sql":"SELECT json_extract(\u0027{}\u0027, (SELECT s FROM secrets WHERE s LIKE \u0027hunter2%\u0027))"}'
# A world-readable entry, a database only its owner reads: the note is
# the owner's only.
drop_mode 5_leak.json 644 "$leak"
assert_eq "$(note_mode 5_leak.json)" 600 "note of a 644 entry, 600 database"
grep -q 'hunter2-topsecret' "$ROOT/failed/5_leak.json.err" ||
    fail "the note does not show the error text: $(cat "$ROOT/failed/5_leak.json.err")"

# Group-readable database: the entry's own mode decides.
chmod 640 "$DB"
drop_mode 5_own.json 600 "$leak"
assert_eq "$(note_mode 5_own.json)" 600 "note of a 600 entry, 640 database"
drop_mode 5_grp.json 664 "$leak"
assert_eq "$(note_mode 5_grp.json)" 640 "note of a 664 entry, 640 database"

# The error text is bounded: SQLite names a table of 1400 bytes of
# two-byte characters in full; the note keeps 500 bytes and "...".
long=$(printf 'é%.0s' $(seq 1 700))
drop_mode 5_long.json 640 "{\"sql\":\"INSERT INTO \\\"$long\\\" VALUES (1)\"}"
note_mode 5_long.json >/dev/null
err=$(hq4_json "$ROOT/failed/5_long.json.err" 'utf8::encode(my $e = $j->{error}); $e')
len=$(printf '%s' "$err" | wc -c)
[ "$len" -le 503 ] || fail "error text of $len bytes"
[ "$len" -ge 490 ] || fail "error text cut too short: $len bytes"
assert_match "$err" '\.\.\.$' "a cut error text is marked"
printf '%s' "$err" | iconv -f UTF-8 -t UTF-8 >/dev/null ||
    fail "the cut error text is not UTF-8"
grep -q 'ufffd' "$ROOT/failed/5_long.json.err" && fail "a character was cut in two"
hq_stop TERM
assert_eq "$HQ_RC" 0 "hqd exit status"
note "notes no more readable than their entry and the database; error text bounded"
