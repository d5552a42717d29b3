// Installing and removing an /etc/cron.d entry from a host command: the one way the backup job and the
// certificate renewal get their schedules. The job runs as the user installing it (the one whose files
// it touches), with cron's output sent to syslog by the command itself.
import { shq } from "./shell";

/** `as_root CMD...`: runs CMD as root, through `sudo -n` when the script runs as another user. */
export const AS_ROOT = ["as_root() {", `    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi`, "}"].join("\n");

export interface CronEntry {
    /** The file in /etc/cron.d. */
    readonly file: string;
    /** Five cron fields (or a macro such as `@daily`). */
    readonly schedule: string;
    /** The command line, run by bash. */
    readonly command: string;
    /** The entry's first line, after `# dropyard: `. */
    readonly comment: string;
    /** What to do instead when the file cannot be written: the text after "needs root or passwordless sudo; ". */
    readonly withoutRoot: string;
}

/** Script lines that write the entry as root (failing with `withoutRoot` when they cannot) and warn without cron. */
export function cronInstallLines(e: CronEntry): string[] {
    return [
        AS_ROOT,
        "user=$(id -un)",
        "tmp=$(mktemp)",
        "{",
        `    echo ${shq(`# dropyard: ${e.comment}`)}`,
        "    echo 'SHELL=/bin/bash'",
        "    echo 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'",
        `    printf '%s %s %s\\n' ${shq(e.schedule)} "$user" ${shq(e.command)}`,
        `} > "$tmp"`,
        `if ! as_root install -m 0644 -o root -g root "$tmp" ${shq(e.file)}; then`,
        `    rm -f "$tmp"`,
        `    echo ${shq(`writing ${e.file} needs root or passwordless sudo; ${e.withoutRoot}`)} >&2`,
        "    exit 1",
        "fi",
        `rm -f "$tmp"`,
        "if ! command -v cron >/dev/null 2>&1 && ! command -v crond >/dev/null 2>&1 " +
            "&& [ ! -x /usr/sbin/cron ] && [ ! -x /usr/sbin/crond ]; then",
        `    echo ${shq(`warning: no cron daemon found; ${e.file} will not run until one is installed`)} >&2`,
        "fi",
    ];
}

/** Script lines that remove the entry (as root). */
export function cronRemoveLines(file: string): string[] {
    return [AS_ROOT, `as_root rm -f ${shq(file)}`];
}
