#!/usr/bin/env bash
# Runs every *.test.ts under the given test folders with node's test runner (TypeScript via tsx);
# "examples" stands for the example services' own tests (examples/*/*/test/*.test.js).
set -euo pipefail
cd "$(dirname "$0")/.."
files=()
for dir in "$@"; do
    if [ "$dir" = examples ]; then
        while IFS= read -r f; do files+=("$f"); done < <(find examples -path '*/node_modules' -prune -o -path '*/test/*.test.js' -print | sort)
    else
        while IFS= read -r f; do files+=("$f"); done < <(find "test/$dir" -name '*.test.ts' 2>/dev/null | sort)
    fi
done
[ ${#files[@]} -gt 0 ] || { echo "run-tests: no test files under $*" >&2; exit 1; }
exec node --import tsx --test "${files[@]}"
