// The releases step's host script (`<app>-releases`), run once a deploy's containers run: it gives
// the image they run a release number (a tag `dropyard/<host>-<app>:release-<n>` on the host), keeps
// the newest `keep` releases' images and prunes the app's other images. The tags are the history
// `dropyard releases` lists and `dropyard rollback` deploys again: docs/architecture.md#releases-and-rollback.
import { LABEL } from "../labels";

/** The image the app's containers now run (a digest or an image id), set by the App. */
export const RELEASES_LIVE_IMAGE = "DROPYARD_LIVE_IMAGE";

/** The tag of release `n`. */
export function releaseTag(n: number): string {
    return `release-${n}`;
}

/** `release-<n>` → n; undefined for any other tag. */
export function releaseNumber(tag: string): number | undefined {
    const m = /^release-([1-9][0-9]*)$/.exec(tag);
    return m ? Number(m[1]) : undefined;
}

export interface ReleasesScript {
    /** The App's name (its images' label). */
    readonly app: string;
    /** The image repository its releases are tagged in, `dropyard/<host>-<app>`. */
    readonly repo: string;
    /** How many releases to keep. */
    readonly keep: number;
}

/** The script (bash). The live image arrives in the environment (RELEASES_LIVE_IMAGE). */
export function renderReleasesScript(r: ReleasesScript): string {
    if (!/^[a-z0-9][a-z0-9._/-]*$/.test(r.repo))
        throw new Error(`renderReleasesScript: "${r.repo}" is not an image repository`);
    if (!/^[a-z0-9-]+$/.test(r.app)) throw new Error(`renderReleasesScript: "${r.app}" is not an App name`);
    if (!Number.isInteger(r.keep) || r.keep < 1) throw new RangeError(`renderReleasesScript: keep ${r.keep}`);
    return [
        "set -euo pipefail",
        `repo='${r.repo}'`,
        `live=$(docker image inspect -f '{{.Id}}' "\${${RELEASES_LIVE_IMAGE}:?}")`,
        "# Every kept release, newest first: <number> <image id>.",
        "list() {",
        `    docker image ls "$repo" --no-trunc --format '{{.Tag}} {{.ID}}' | sed -n 's/^release-\\([1-9][0-9]*\\) /\\1 /p' | sort -rn`,
        "}",
        `n=$(list | awk -v id="$live" '$2 == id { print $1; exit }')`,
        `if [ -z "$n" ]; then`,
        "    last=$(list | awk 'NR == 1 { print $1 }')",
        "    n=$((${last:-0} + 1))",
        `    docker tag "$live" "$repo:release-$n"`,
        `    echo "release $n: $live"`,
        "else",
        `    echo "release $n is live: $live"`,
        "fi",
        `# Beyond the newest ${r.keep}: untag, unless a container still uses the image (the one this deploy`,
        "# replaces, or a pinned release); such a release goes on a later deploy.",
        `list | awk -v keep=${r.keep} 'NR > keep { print $1, $2 }' | while read -r k id; do`,
        `    if [ -n "$(docker ps -aq --filter "ancestor=$id")" ]; then continue; fi`,
        `    docker image rm "$repo:release-$k" >/dev/null`,
        `    echo "release $k removed (keeping ${r.keep})"`,
        "done",
        "# The app's images no tag holds any more (an image a container uses stays).",
        `docker image prune --force --filter 'label=${LABEL.app}=${r.app}' >/dev/null`,
        "",
    ].join("\n");
}

/**
 * The releases step's delete script, run when the App goes: every release tag is removed (the image
 * with it, unless another tag or a container holds it).
 */
export function renderReleasesRemoveScript(repo: string): string {
    if (!/^[a-z0-9][a-z0-9._/-]*$/.test(repo))
        throw new Error(`renderReleasesRemoveScript: "${repo}" is not an image repository`);
    return [
        "set -euo pipefail",
        `docker image ls '${repo}' --format '{{.Tag}}' | { grep -x 'release-[0-9]*' || true; } | while read -r tag; do`,
        `    docker image rm -f '${repo}':"$tag" >/dev/null`,
        "done",
        "",
    ].join("\n");
}
