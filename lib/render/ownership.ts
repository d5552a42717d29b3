// The deploy-time ownership check: before a stack changes anything on a host, it looks there for each
// object it is about to create (container, app, volume, network, edge file, domain) and fails, naming
// the object and its owner, when another project/stack owns it. The construction-time claims
// (lib/claims.ts) see only the stack being evaluated; this sees every stack on the host. Docker objects
// carry their owner in labels (lib/labels.ts); edge files in their first line (OWNER_HEADER).
// Pure: test/render runs the script against a real engine's objects and files.
import { LABEL } from "../labels";
import { shq } from "./shell";

/** The first line of every `.conf` file dropyard puts into the edge's conf.d: `# dropyard-owner: <project>/<stack>`. */
export const OWNER_HEADER = "# dropyard-owner: ";

/** What a stack is about to create on one host, by kind. */
export interface OwnedObjects {
    /** `<project>/<stack>` of the stack that runs the check. */
    readonly owner: string;
    readonly containers: readonly string[];
    /** App names: containers labelled `dev.dropyard.app=<name>`. */
    readonly apps: readonly string[];
    readonly volumes: readonly string[];
    readonly networks: readonly string[];
    /** Edge files (`.conf` in conf.d) by path. */
    readonly files: readonly string[];
    readonly domains: readonly string[];
    /** The edge's conf.d, where other stacks' vhosts name their domains. */
    readonly confDir: string;
}

const OWNER_FORMAT = `{{index .Config.Labels "${LABEL.project}"}}/{{index .Config.Labels "${LABEL.stack}"}}`;
const OWNER_FORMAT_LABELS = `{{index .Labels "${LABEL.project}"}}/{{index .Labels "${LABEL.stack}"}}`;

/** Lines that look up each named Docker object of `kind` and report one another stack owns. */
function inspected(kind: "container" | "volume" | "network", names: readonly string[], format: string): string[] {
    return [
        `${kind}s=(${names.map(shq).join(" ")})`,
        `for x in "\${${kind}s[@]}"; do`,
        `    owner=$(docker ${kind} inspect -f ${shq(format)} "$x" 2>/dev/null || true)`,
        `    if foreign "$owner"; then conflict "Docker ${kind} \\"$x\\" belongs to stack $owner"; fi`,
        "done",
    ];
}

/** The check as a whole bash script; it prints every conflict it finds, then fails if there was one. */
export function renderOwnershipCheck(o: OwnedObjects): string {
    const list = (xs: readonly string[]) => xs.map(shq).join(" ");
    return [
        "set -euo pipefail",
        `me=${shq(o.owner)}`,
        "conflicts=0",
        'conflict() { echo "$1" >&2; conflicts=$((conflicts + 1)); }',
        "# An owner of / is an object made before owners were recorded: nobody's to protect.",
        'foreign() { [ -n "$1" ] && [ "$1" != / ] && [ "$1" != "$me" ]; }',
        ...inspected("container", o.containers, OWNER_FORMAT),
        `apps=(${list(o.apps)})`,
        `for a in "\${apps[@]}"; do`,
        `    for owner in $(docker ps -a --filter ${shq(`label=${LABEL.app}`)}="$a" --format ${shq(`{{.Label "${LABEL.project}"}}/{{.Label "${LABEL.stack}"}}`)} | sort -u); do`,
        '        if foreign "$owner"; then conflict "App \\"$a\\" (its containers) belongs to stack $owner"; fi',
        "    done",
        "done",
        ...inspected("volume", o.volumes, OWNER_FORMAT_LABELS),
        ...inspected("network", o.networks, OWNER_FORMAT_LABELS),
        `fileowner() { sed -n '1s/^${OWNER_HEADER}//p' "$1" 2>/dev/null || true; }`,
        `mine=(${list(o.files)})`,
        `for f in "\${mine[@]}"; do`,
        '    if [ -e "$f" ]; then owner=$(fileowner "$f"); if foreign "$owner"; then conflict "file $f belongs to stack $owner"; fi; fi',
        "done",
        `domains=(${list(o.domains)})`,
        `for d in "\${domains[@]}"; do`,
        `    for f in ${shq(o.confDir)}/*.conf; do`,
        '        [ -e "$f" ] || continue',
        '        owner=$(fileowner "$f")',
        '        foreign "$owner" || continue',
        "        # server_name lines list names separated by spaces and end with ;",
        '        if awk -v d="$d" \'$1 == "server_name" { for (i = 2; i <= NF; i++) { n = $i; sub(/;$/, "", n); if (n == d) found = 1 } } END { exit !found }\' "$f"; then',
        '            conflict "domain $d is served by $f of stack $owner"',
        "        fi",
        "    done",
        "done",
        'if [ "$conflicts" -gt 0 ]; then',
        '    echo "stack $me would take over what another stack owns on this host (above); nothing was changed. Pick other names or domains, or remove them from the owning stack first" >&2',
        "    exit 1",
        "fi",
        "",
    ].join("\n");
}
