#!/usr/bin/env bash
# Checks what a user gets: after `npm run build`, require() of the package root returns the seven
# components as classes, and `npm pack` ships only the built JavaScript, its declarations, the README,
# the licence and package.json (no sources, tests, sandbox or examples), and its `dropyard` command
# (package.json `bin`) is among them, starts with a node shebang and answers --help.
set -euo pipefail
cd "$(dirname "$0")/.."
node -e '
const d = require("./");
const want = ["Host", "App", "Postgres", "MariaDB", "BridgeNet", "NginxVhost", "LetsEncrypt", "ConfigError"];
const missing = want.filter(k => typeof d[k] !== "function");
if (missing.length) { console.error("check-package: missing exports: " + missing.join(", ")); process.exit(1); }
console.log("check-package: exports " + want.join(", "));'
npm pack --dry-run --json --ignore-scripts 2>/dev/null | node -e '
const files = JSON.parse(require("fs").readFileSync(0, "utf8"))[0].files.map(f => f.path);
const allowed = p => ["LICENSE", "README.md", "package.json"].includes(p) || /^dist\/.*\.(js|d\.ts)$/.test(p);
const stray = files.filter(p => !allowed(p));
if (stray.length) { console.error("check-package: npm pack would ship " + stray.join(", ")); process.exit(1); }
if (!files.includes("dist/index.js") || !files.includes("dist/index.d.ts")) { console.error("check-package: dist/index.js or .d.ts missing from the package"); process.exit(1); }
const bins = Object.values(require("./package.json").bin ?? {});
const unshipped = bins.filter(b => !files.includes(b.replace(/^\.\//, "")));
if (bins.length === 0 || unshipped.length) { console.error("check-package: bin " + (unshipped.join(", ") || "missing") + " not in the package"); process.exit(1); }
for (const b of bins) if (!require("fs").readFileSync(b, "utf8").startsWith("#!/usr/bin/env node\n")) { console.error("check-package: " + b + " has no node shebang"); process.exit(1); }
console.log("check-package: npm pack ships " + files.length + " files, all built output or docs; bin " + bins.join(", "));'
node dist/cli/main.js --help | grep -q '^usage: dropyard' || { echo "check-package: dropyard --help does not answer" >&2; exit 1; }
echo "check-package: dropyard --help answers"
