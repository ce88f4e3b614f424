#!/usr/bin/env bash
# The container's runtime stage has every shared library hqd, hqctl and
# hq-dqlite-node and hqenqueue.so (where they were built) load: each library ldd resolves (transitively) belongs, by dpkg -S, to a
# package of the Dockerfile's runtime list (parsed from the Dockerfile:
# the one source of truth), to a package bookworm-slim already has
# (Essential or Priority required), or to a dependency of one of those.
. "$(dirname "$0")/lib.sh"
need ldd dpkg dpkg-query
: "${HQD:?}" "${HQCTL:?}"
[ -f /etc/debian_version ] || skip "not Debian: dpkg cannot say who owns the libraries"
F=$SRC/deploy/Dockerfile

runtime=$(dockerfile_runtime_packages "$F")
[ -n "$runtime" ] || fail "no runtime packages in $F"

# Sanitizer builds link libasan/libubsan, which the image never has.
if hq_sanitized "$HQD"; then
	skip "sanitizer build: its runtime libraries are not the image's"
fi

# The base: what bookworm-slim holds (Essential: yes, Priority: required;
# minbase installs exactly these and their dependencies), plus the list.
dpkg-query -W -f='${Package}\t${Essential}\t${Priority}\n' |
    awk -F'\t' '$2 == "yes" || $3 == "required" { print $1 }' >"$D_T/seed"
[ "$(wc -l <"$D_T/seed")" -gt 20 ] || fail "too few Essential/required packages found"
echo "$runtime" >>"$D_T/seed"

# Closure over Depends and Pre-Depends, as dpkg knows them here (each
# alternative that is installed counts): one dpkg-query, then awk.
dpkg-query -W -f='${db:Status-Abbrev}\t${Package}\t${Depends}, ${Pre-Depends}\n' |
    awk -F'\t' '$1 ~ /^ii/ { print $2 "\t" $3 }' >"$D_T/installed"
closure() {
	awk -F'\t' '
		NR == FNR { deps[$1] = $2; next }
		{ todo[++n] = $1 }
		END {
			for (i = 1; i <= n; i++) {
				p = todo[i]
				sub(/:.*/, "", p)
				if (p in seen || !(p in deps)) continue
				seen[p] = 1
				print p
				m = split(deps[p], d, /[,|]/)
				for (j = 1; j <= m; j++) {
					q = d[j]
					gsub(/\([^)]*\)|:any| /, "", q)
					if (q != "" && (q in deps) && !(q in seen))
						todo[++n] = q
				}
			}
		}' "$D_T/installed" "$D_T/seed"
}
closure | sort -u >"$D_T/image"

# The libraries: ldd's whole transitive set, as the dynamic linker
# resolves it, and what hqd opens itself.
bins=("$HQD" "$HQCTL")
[ -z "${HQ_DQLITE_NODE:-}" ] || bins+=("$HQ_DQLITE_NODE")
# The shell library's builtin, which bash loads in the image too.
[ ! -f "$(dirname "$HQCTL")/hqenqueue.so" ] || bins+=("$(dirname "$HQCTL")/hqenqueue.so")
for bin in "${bins[@]}"; do
	if [[ $(ldd "$bin") == *'not found'* ]]; then
		fail "$(basename "$bin"): $(ldd "$bin" | grep 'not found')"
	fi
	ldd "$bin" | awk -v b="$(basename "$bin")" \
	    '/=> \// { print b "\t" $3 } /^\t\/[^ ]+ \(/ { print b "\t" $1 }'
done >"$D_T/libs"
# hqd loads libmicrohttpd (and what it needs) with dlopen, only for
# --http: ldd of hqd does not show it. The soname is the one hqd names.
mhd=$(grep -ao 'libmicrohttpd\.so\.[0-9][0-9]*' "$HQD" | head -n 1)
[ -n "$mhd" ] || fail "hqd names no libmicrohttpd soname (it loads it for --http)"
mhdpath=$(ldconfig -p | awk -v s="$mhd" '$1 == s { print $NF; exit }')
[ -n "$mhdpath" ] || fail "$mhd: not installed here"
{
	printf 'hqd\t%s\n' "$mhdpath"
	ldd "$mhdpath" | awk '/=> \// { print "hqd\t" $3 }'
} >>"$D_T/libs"
sort -u -o "$D_T/libs" "$D_T/libs"
[ -s "$D_T/libs" ] || fail "ldd found no libraries"

# Their packages, by one dpkg -S over every spelling of every path (merged
# /usr: dpkg may know /lib/x/... or /usr/lib/x/...; one call, as each
# takes a second).
cut -f2 "$D_T/libs" | sort -u | while read -r f; do
	r=$(readlink -f "$f")
	printf '%s\n' "$f" "$r" "${f#/usr}" "/usr$f" "${r#/usr}" "/usr$r"
done | sort -u >"$D_T/spellings"
dpkg -S $(cat "$D_T/spellings") 2>/dev/null |
    sed -E 's/^([^:,]+)(:[a-z0-9]+)?: /\1\t/' >"$D_T/owners" || true
owner() {	# owner FILE: the package that ships FILE
	local f=$1 r c
	r=$(readlink -f "$f")
	for c in "$f" "$r" "${f#/usr}" "/usr$f" "${r#/usr}" "/usr$r"; do
		awk -F'\t' -v c="$c" '$2 == c { print $1; found = 1; exit } END { exit !found }' "$D_T/owners" &&
		    return 0
	done
	return 1
}

bad=""
n=0
: >"$D_T/used"
while IFS=$'\t' read -r bin lib; do
	n=$((n + 1))
	pkg=$(owner "$lib") || fail "$bin: $lib belongs to no package"
	echo "$pkg" >>"$D_T/used"
	grep -qx "$pkg" "$D_T/image" || bad="$bad $bin:$lib($pkg)"
done <"$D_T/libs"
[ -z "$bad" ] || fail "libraries the runtime image would lack:$bad (add their packages to the last stage of deploy/Dockerfile)"

# Each listed package is needed: it ships a library one of them loads.
for p in $runtime; do
	# libdqlite0 is hq-dqlite-node's alone: unused where it is not built.
	[ "$p" = libdqlite0 ] && [ -z "${HQ_DQLITE_NODE:-}" ] && continue
	grep -qx "$p" "$D_T/used" || fail "runtime package $p: no binary loads a library of it"
done
# And each is a real bookworm package (when apt's lists are here).
if [ -n "$(ls /var/lib/apt/lists/*_Packages 2>/dev/null)" ]; then
	for p in $runtime; do
		apt-cache show "$p" >/dev/null 2>&1 || fail "runtime package $p: apt knows no such package"
	done
fi
note "ok: $n libraries, all in the image ($(tr '\n' ' ' <<<"$runtime"))"
