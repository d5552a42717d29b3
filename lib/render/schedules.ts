// An App's scheduled jobs on the host (`App.schedules`, Heroku Scheduler): one script per job, run by
// an /etc/cron.d entry. Each run is a one-off container of the app's current release (the image, the
// environment, the volumes and the non-edge networks of one of the app's running containers), never
// two runs of a job at once (flock), its exit status and times recorded on the host. The install
// script writes the scripts and cron entries; the job script is one run. docs/architecture.md#scheduled-jobs.
import * as path from "node:path";
import { LABEL } from "../labels";
import { AS_ROOT, CronEntry, cronInstallLines } from "./cron";
import { shq } from "./shell";

/** The app's running containers to take the release from (web first), set by the App per deploy. */
export const SCHEDULE_CONTAINERS = "DROPYARD_APP_CONTAINERS";
/** The jobs and their cron expressions, as JSON `{ "<job>": "<cron>" }` (read back by `dropyard ps`). */
export const SCHEDULE_JOBS = "DROPYARD_SCHEDULES";

export interface ScheduledJob {
    readonly name: string;
    readonly cron: string;
    /** The command as the container runs it (`processCommand`'s argument list). */
    readonly command: readonly string[];
}

export interface SchedulesScript {
    readonly app: string;
    readonly hostName: string;
    /** Where the job scripts, locks, status and logs live on the host. */
    readonly stateDir: string;
    /** The host's edge network, which one-off containers never join. */
    readonly edgeNetwork: string;
    readonly jobs: readonly ScheduledJob[];
}

/** The container a run of `job` leaves behind (its logs and exit status are the last run's). */
export function jobContainer(app: string, job: string): string {
    return `${app}-${job}-run`;
}

/** The job's files on the host. */
export function jobPaths(stateDir: string, job: string) {
    const p = (ext: string) => path.posix.join(stateDir, `${job}.${ext}`);
    return { script: p("sh"), lock: p("lock"), status: p("status.json"), log: p("log") };
}

/** The /etc/cron.d entry of a job (cron ignores files with dots in their names). */
export function jobCronFile(hostName: string, app: string, job: string): string {
    return `/etc/cron.d/dropyard-${hostName}-${app}-${job}`;
}

/** One run of a job (bash), as cron starts it. */
export function renderJobScript(s: SchedulesScript, job: ScheduledJob): string {
    const p = jobPaths(s.stateDir, job.name);
    const container = jobContainer(s.app, job.name);
    return [
        "#!/bin/bash",
        `# dropyard: App "${s.app}", scheduled job "${job.name}" (${job.cron}): one run in a one-off container.`,
        "set -uo pipefail",
        `dir=${shq(s.stateDir)}`,
        "# shellcheck source=/dev/null # written by the install script: the host's DOCKER_HOST, when it has one",
        `[ -r "$dir/docker-host" ] && . "$dir/docker-host"`,
        "now() { date -u +%Y-%m-%dT%H:%M:%SZ; }",
        `exec 9>>${shq(p.lock)}`,
        "if ! flock -n 9; then",
        `    echo "$(now) ${job.name}: the previous run is still going; this run is skipped"`,
        "    exit 0",
        "fi",
        "started=$(now)",
        "# Records the run: $1 exit status, $2 image, $3 message.",
        "record() {",
        `    local tmp; tmp=$(mktemp "$dir/.status.XXXXXX")`,
        `    printf '{"job":"%s","startedAt":"%s","finishedAt":"%s","exitCode":%d,"image":"%s","container":"%s","message":"%s"}\\n' \\`,
        `        ${shq(job.name)} "$started" "$(now)" "$1" "$2" ${shq(container)} "$3" > "$tmp"`,
        `    mv -f "$tmp" ${shq(p.status)}`,
        `    echo "$(now) ${job.name}: exit $1 $3"`,
        "}",
        "docker=$(command -v docker)",
        "# The current release: the image of a running container of the app (web first).",
        "src=''",
        "while read -r c; do",
        `    if [ "$("$docker" inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" = true ]; then src=$c; break; fi`,
        `done < "$dir/containers"`,
        `if [ -z "$src" ]; then record 125 "" "no running container of the app to take its release from"; exit 1; fi`,
        `image=$("$docker" inspect -f '{{.Image}}' "$src")`,
        "# shellcheck disable=SC2016 # a Go template, not a shell expansion",
        `mapfile -t nets < <("$docker" inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{println $k}}{{end}}' "$src" | grep -v -x -e '' -e ${shq(s.edgeNetwork)})`,
        "# The environment goes to docker by name only (-e KEY), its values in docker's own environment: never on a command line or disk.",
        "envs=()",
        "keys=()",
        "while IFS= read -r -d '' kv; do",
        `    [ -n "$kv" ] || continue`,
        `    envs+=("$kv")`,
        `    keys+=(-e "\${kv%%=*}")`,
        `done < <("$docker" inspect -f '{{range .Config.Env}}{{printf "%s\\x00" .}}{{end}}' "$src")`,
        `"$docker" rm -f ${shq(container)} >/dev/null 2>&1 || true`,
        "# shellcheck disable=SC2016 # the job's command expands in the container, not here",
        `if ! cid=$(env "\${envs[@]}" "$docker" create --name ${shq(container)} \\`,
        `    --label ${shq(`${LABEL.app}=${s.app}`)} --label ${shq(`${LABEL.process}=${job.name}`)} --label ${shq(`${LABEL.schedule}=${job.name}`)} \\`,
        `    --log-driver json-file --log-opt max-size=10m --log-opt max-file=3 \\`,
        `    --network "\${nets[0]:-none}" --volumes-from "$src" "\${keys[@]}" "$image" ${job.command.map(shq).join(" ")} 2>&1); then`,
        `    record 125 "$image" "docker create failed: $(printf '%s' "$cid" | tail -n 1 | tr -d "\\"\\\\\\\\")"`,
        "    exit 1",
        "fi",
        `cid=$(printf '%s' "$cid" | tail -n 1)`,
        `for n in "\${nets[@]:1}"; do "$docker" network connect "$n" "$cid" >/dev/null; done`,
        `"$docker" start -a "$cid" >/dev/null 2>&1`,
        `code=$("$docker" inspect -f '{{.State.ExitCode}}' "$cid")`,
        `record "$code" "$image" ""`,
        `exit "$code"`,
        "",
    ].join("\n");
}

/**
 * The install script (bash): every job's script and cron entry, the containers to take the release
 * from (SCHEDULE_CONTAINERS, per deploy), and the removal of jobs no longer scheduled.
 */
export function renderSchedulesInstallScript(s: SchedulesScript): string {
    const lines = [
        "set -euo pipefail",
        AS_ROOT,
        `dir=${shq(s.stateDir)}`,
        `mkdir -p "$dir"`,
        `chmod 0700 "$dir"`,
        `printf '%s\\n' "\${${SCHEDULE_CONTAINERS}:?}" | tr ' ' '\\n' > "$dir/containers"`,
        `if [ -n "\${DOCKER_HOST:-}" ]; then printf 'export DOCKER_HOST=%q\\n' "$DOCKER_HOST" > "$dir/docker-host"; else rm -f "$dir/docker-host"; fi`,
        "# Jobs installed before and no longer scheduled: their cron entries and last run containers go.",
        `keep=' ${s.jobs.map(j => j.name).join(" ")} '`,
        `touch "$dir/jobs"`,
        "while read -r old; do",
        `    case "$keep" in *" $old "*) continue ;; esac`,
        `    as_root rm -f "/etc/cron.d/dropyard-${s.hostName}-${s.app}-$old"`,
        `    docker rm -f "${s.app}-$old-run" >/dev/null 2>&1 || true`,
        `    rm -f "$dir/$old".*`,
        `done < "$dir/jobs"`,
    ];
    for (const job of s.jobs) {
        const p = jobPaths(s.stateDir, job.name);
        const entry: CronEntry = {
            file: jobCronFile(s.hostName, s.app, job.name),
            schedule: job.cron,
            command: `${shq(p.script)} >> ${shq(p.log)} 2>&1`,
            comment: `App "${s.app}" on host "${s.hostName}", scheduled job "${job.name}"`,
            withoutRoot: "run pulumi up as a user who has it",
        };
        lines.push(
            `cat > ${shq(p.script)} <<'DROPYARD_JOB'`,
            renderJobScript(s, job).replace(/\n$/, ""),
            "DROPYARD_JOB",
            `chmod 0700 ${shq(p.script)}`,
            ...cronInstallLines(entry),
        );
    }
    lines.push(`printf '%s\\n' ${s.jobs.map(j => shq(j.name)).join(" ")} > "$dir/jobs"`, "");
    return lines.join("\n");
}

/** The removal script: cron entries, last run containers and the state directory. */
export function renderSchedulesRemoveScript(
    s: Omit<SchedulesScript, "jobs" | "edgeNetwork"> & { jobs: readonly string[] },
): string {
    return [
        "set -euo pipefail",
        AS_ROOT,
        ...s.jobs.flatMap(job => [
            `as_root rm -f ${shq(jobCronFile(s.hostName, s.app, job))}`,
            `docker rm -f ${shq(jobContainer(s.app, job))} >/dev/null 2>&1 || true`,
        ]),
        `rm -rf ${shq(s.stateDir)}`,
        "",
    ].join("\n");
}
