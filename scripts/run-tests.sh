#!/usr/bin/env bash
# Runs every *.test.ts under the given test folders with node's test runner (TypeScript via tsx).
set -euo pipefail
cd "$(dirname "$0")/.."
files=()
for dir in "$@"; do
    while IFS= read -r f; do files+=("$f"); done < <(find "test/$dir" -name '*.test.ts' 2>/dev/null | sort)
done
[ ${#files[@]} -gt 0 ] || { echo "run-tests: no test files under $*" >&2; exit 1; }
exec node --import tsx --test "${files[@]}"
