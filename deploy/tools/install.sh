#!/bin/sh
# install.sh: the npm tools the deploy tests use (dockerfile-utils, the
# Kubernetes and KEDA schema models, a YAML parser), at the versions and
# hashes of package-lock.json, into deploy/tools/node_modules. Idempotent
# and quiet: does nothing when they are in place.
set -eu
cd "$(dirname "$0")"
stamp=node_modules/.hq-lock
if [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; then
	exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "install.sh: npm missing" >&2; exit 1; }
npm ci --no-fund --no-audit --ignore-scripts --loglevel=error >/dev/null
cp package-lock.json "$stamp"
