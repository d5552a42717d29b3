// The release step's host script: run the Procfile's `release` command once, in a throwaway
// container of the exact image the new containers will use, before they replace the old ones.
import { LABEL } from "../labels";

/** Environment variable, set by the App, that carries the image digest to run. */
export const RELEASE_IMAGE = "DROPYARD_IMAGE";
/** Space-separated Docker networks the release container joins (the app's and its databases'). */
export const RELEASE_NETWORKS = "DROPYARD_NETWORKS";
/** The release container's CPU weight: Docker's default is 1024. */
export const RELEASE_CPU_SHARES = 128;
/** The release command from the Procfile or `processes.release`. */
export const RELEASE_COMMAND = "DROPYARD_RELEASE";
/** Prefix of the variables carrying the app's environment: `DROPYARD_ENV_DATABASE_URL` → `DATABASE_URL`. */
export const RELEASE_ENV_PREFIX = "DROPYARD_ENV_";

/**
 * A bash script for a host command. Every value — image, networks, command and the app's
 * environment — arrives in the command's environment, so the script text holds no secret; the
 * app's variables reach the container through `docker create -e KEY` (name only), set in a subshell
 * just for the docker client so a `PATH` or `BASH_ENV` in the app's environment cannot change how
 * the script itself runs. The container is created, connected to every network (one `--network`
 * per `docker run` on engines before API 1.44), started attached and always removed. A non-zero
 * exit fails the script with the container's last 50 lines of output on stderr, which fails the
 * deploy before any web or worker container is replaced.
 *
 * @param app the App's name, for labels
 * @param envKeys names of the app's variables; each must be valid as a shell variable name
 */
export function releaseScript(app: string, envKeys: readonly string[]): string {
    const exports = envKeys.map(k => `    export ${k}="$${RELEASE_ENV_PREFIX}${k}"`);
    const run = [
        '"$docker"',
        '"${create[@]}"',
        ...envKeys.map(k => `-e ${k}`),
        `"$${RELEASE_IMAGE}"`,
        "/bin/sh",
        "-c",
        `"$${RELEASE_COMMAND}"`,
    ].join(" ");
    return [
        "set -euo pipefail",
        "docker=$(command -v docker)",
        "# The client keeps its own config even if the app's environment sets HOME.",
        'if [ -z "${DOCKER_CONFIG:-}" ] && [ -n "${HOME:-}" ]; then export DOCKER_CONFIG="$HOME/.docker"; fi',
        `read -r -a nets <<<"\${${RELEASE_NETWORKS}:-}"`,
        // A release (migrations) runs while the old containers serve: at an eighth of a container's CPU weight it
        // takes what they leave idle rather than a share of what they need (bench/README.md).
        `create=(create --label ${LABEL.app}=${app} --label ${LABEL.process}=release --cpu-shares ${RELEASE_CPU_SHARES})`,
        `if [ "\${#nets[@]}" -gt 0 ]; then create+=(--network "\${nets[0]}"); fi`,
        "cid=$(",
        ...exports,
        `    exec ${run}`,
        ")",
        `trap '"$docker" rm --force "$cid" >/dev/null 2>&1 || true' EXIT`,
        `for net in "\${nets[@]:1}"; do "$docker" network connect "$net" "$cid"; done`,
        `if ! out=$("$docker" start --attach "$cid" 2>&1); then`,
        `    echo "release command failed: $${RELEASE_COMMAND}" >&2`,
        `    echo "--- last lines of its output ---" >&2`,
        `    printf '%s\\n' "$out" | tail -n 50 >&2`,
        "    exit 1",
        "fi",
        `printf '%s\\n' "$out"`,
        "",
    ].join("\n");
}
