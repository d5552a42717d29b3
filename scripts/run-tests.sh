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
# End-to-end files share one Docker engine, and the examples' edges the host's ports 80 and 443: run
# them one file at a time (node runs files in parallel on machines with more than two cores).
serial=()
for dir in "$@"; do if [ "$dir" = e2e ]; then serial=(--test-concurrency=1); fi; done
exec node --import tsx --test "${serial[@]}" "${files[@]}"
