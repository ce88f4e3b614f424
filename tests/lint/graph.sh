#!/bin/sh
# SPDX-License-Identifier: MIT
# graph.sh SRCDIR: what the include and call graphs must show (issue 14).
#  - no file of supervisor/ but main.c (hqd's composition root, which
#    links the worker library) includes a worker/ header or sqlite3.h;
#  - no file of supervisor/ but main.c calls a main_ function;
#  - nothing in common/ includes libev (ev.h) or a supervisor/ header;
#  - no .c or .h under supervisor/ worker/ common/ hqctl/ passes 800 lines;
#  - the calls between the files of supervisor/ go one way (graph.pl,
#    which also prints the graph and its layers).
# Exit 0, 1 with every violation listed, or 77 (skip) without perl.
src=${1:?usage: graph.sh SRCDIR}
here=$(cd "$(dirname "$0")" && pwd)
cd "$src" || exit 1
command -v perl >/dev/null 2>&1 || { echo "skip: no perl"; exit 77; }
bad=0
say() { echo "FAIL: $*"; bad=1; }

# Comments and strings out, so that prose naming a function is no call.
strip() {
	perl -0777 -pe 's{("(?:\\.|[^"\\\n])*")|/\*.*?\*/|//[^\n]*}{defined $1 ? q("") : q( )}gse' "$1"
}

inc='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]'
for f in supervisor/*.c supervisor/*.h; do
	[ "$f" = supervisor/main.c ] && continue
	if l=$(grep -nE "$inc(worker/|sqlite3\.h)" "$f"); then
		say "$f includes the worker's side (only main.c may): $l"
	fi
	if l=$(strip "$f" | grep -nE '(^|[^[:alnum:]_.>])main_[[:alnum:]_]*[[:space:]]*\('); then
		say "$f calls main.c: $l"
	fi
done
for f in common/*.c common/*.h; do
	if l=$(grep -nE "$inc(ev\.h|supervisor/)" "$f"); then
		say "$f includes libev or a supervisor header: $l"
	fi
done
for f in supervisor/*.[ch] worker/*.[ch] common/*.[ch] hqctl/*.[ch]; do
	[ -f "$f" ] || continue
	n=$(wc -l < "$f")
	[ "$n" -gt 800 ] && say "$f has $n lines (at most 800)"
done
perl "$here/graph.pl" supervisor || say "the supervisor's calls go round"
[ "$bad" -eq 0 ] && echo "ok"
exit "$bad"
