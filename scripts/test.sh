#!/usr/bin/env bash
# The whole test suite: typecheck, lint (layer rule), then every test file through node's test runner,
# one file at a time (interop and end-to-end tests own network namespaces and VMs).
#   scripts/test.sh          — everything
#   scripts/test.sh unit     — only test/unit and test/fuzz (no root, no namespaces)
set -euo pipefail
cd "$(dirname "$0")/.."
scope="${1:-all}"
echo "== typecheck"; npx tsc -p tsconfig.json --noEmit
echo "== lint"; npx eslint .
dirs=(test/unit test/fuzz)
[ "$scope" = all ] && dirs+=(test/interop test/e2e)
mapfile -t files < <(find "${dirs[@]}" -name '*.test.ts' -o -name '*.test.tsx' 2>/dev/null | sort)
if [ ${#files[@]} -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
mkdir -p test-results
# Tests run as root through tsx, whose compile cache lives in $TMPDIR/tsx-<uid>: a shared /tmp/tsx-0 could be planted by
# another local user (docs/SECURITY.md). A private TMPDIR (0700, ours) keeps the cache, and every test's scratch
# folder, out of other users' reach.
TMPDIR="$(mktemp -d /tmp/rackseed-test.XXXXXX)"
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
# --test-force-exit: a test file that leaves a handle open must not hang CI; --test-timeout: no single test may
# run longer than 15 minutes (the longest, a VM boot path with one retry, takes about 5).
node --import tsx --test --test-concurrency=1 --test-force-exit --test-timeout=900000 --test-reporter=spec "${files[@]}"
