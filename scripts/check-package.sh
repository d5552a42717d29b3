#!/usr/bin/env bash
# Checks what a user gets: after `npm run build`, require() of the package root returns the seven
# components as classes, and `npm pack` ships only the built JavaScript, its declarations, the README,
# the licence and package.json (no sources, tests, sandbox or examples).
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
console.log("check-package: npm pack ships " + files.length + " files, all built output or docs");'
