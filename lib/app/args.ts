// App's arguments, as a stack program gives them. spec.ts checks them and applies the defaults;
// app.ts wires the resources.
import type * as pulumi from "@pulumi/pulumi";
import type { BridgeNet } from "../bridge-net";
import type { Database } from "../database/database";
import type { Host } from "../host";

/** How Docker decides a web container is healthy. Times are in seconds. */
export interface AppHealthcheck {
    /**
     * The check. A string runs with `/bin/sh -c` (Docker's `CMD-SHELL`); an array runs as is (`CMD`).
     * @default - a TCP check that `port` accepts connections; see `tcpCheck` in lib/render/healthcheck.ts
     * @example "curl -fsS http://127.0.0.1:$PORT/healthz"
     */
    readonly command?: string | readonly string[];
    /** Seconds between checks. @default 5 */
    readonly interval?: number;
    /** Seconds one check may take. @default 5 */
    readonly timeout?: number;
    /** Failures in a row that make the container unhealthy. @default 3 */
    readonly retries?: number;
    /** Seconds the app may take to boot; failures in this time do not count. @default 60 */
    readonly startPeriod?: number;
}

/** Log rotation for the containers' json-file logs. */
export interface AppLogs {
    /** Size at which a log file is rotated, e.g. `"10m"`, `"500k"`. @default "10m" */
    readonly maxSize?: string;
    /** Rotated files kept per container. @default 3 */
    readonly maxFiles?: number;
}

/** A job run on a schedule (Heroku Scheduler): a one-off container of the app's current release. */
export interface AppSchedule {
    /**
     * When, in cron syntax as /etc/cron.d reads it (five fields: minute hour day-of-month month
     * day-of-week, in the host's time zone; or a macro such as `@daily`).
     * @example "0 3 * * *"
     */
    readonly cron: string;
    /**
     * The command, run with `/bin/sh -c` like a Procfile command (the image's ENTRYPOINT first).
     * @example "python manage.py clearsessions"
     */
    readonly command: string;
}

/** Arguments of an {@link App}: where it runs, what it runs, and with what environment. */
export interface AppArgs {
    /** The host the app runs on. */
    readonly host: Host;
    /**
     * A directory holding a `Dockerfile` (and usually a `Procfile`), built on the host's Docker
     * engine into `dropyard/<host>-<app>:latest`. Excludes `image`.
     * @example build: "./app"
     */
    readonly build?: string;
    /**
     * An existing image to pull and run, e.g. `"wordpress:6.8-php8.4-apache"`. Excludes `build`.
     * Images pulled this way are kept on the host when the App goes (another component may use them).
     */
    readonly image?: string;
    /**
     * Process types and their commands, as a Procfile would give them; replaces the build
     * directory's `Procfile` when given. `web` serves HTTP on `$PORT`, `release` runs once per
     * deploy before the new containers start, every other type runs as a worker. Commands run with
     * `/bin/sh -c`; a simple command is `exec`ed so it gets the stop signal (see `processCommand`).
     * They replace the image's CMD; an ENTRYPOINT still runs first, as with `docker run IMAGE cmd`.
     * @default - the build directory's `Procfile`; without one, the image's own command runs as `web`
     * @example processes: { web: "gunicorn app:app", worker: "celery -A app worker", release: "flask db upgrade" }
     */
    readonly processes?: Readonly<Record<string, string>>;
    /**
     * Worker process types that must never run twice at once (a scheduler, a clock): on a redeploy
     * the old container is stopped before the new one starts instead of after.
     * @default []
     * @example singletons: ["clock"]
     */
    readonly singletons?: readonly string[];
    /**
     * Whether the app serves HTTP through the edge. When true the process types must include
     * `web` (an image without Procfile or `processes` runs its own command as `web`); set false for
     * an app of workers only.
     * @default true
     */
    readonly web?: boolean;
    /**
     * Whether web containers join the host's edge network, where the edge nginx (and any other
     * public app) can reach them. Set false for an internal service that only the apps sharing one
     * of its `networks` may call; a NginxVhost then refuses it as an upstream.
     * @default true
     */
    readonly public?: boolean;
    /** The port the web process listens on, given to it as `PORT`. @default 5000 */
    readonly port?: number;
    /** How many web containers run; the edge spreads requests over them. @default 1 */
    readonly replicas?: number;
    /** Plain environment variables for every process and the release step. @default {} */
    readonly env?: Readonly<Record<string, pulumi.Input<string>>>;
    /** Environment variables kept secret in the state and the recorded inputs. @default {} */
    readonly secrets?: Readonly<Record<string, pulumi.Input<string>>>;
    /**
     * Databases whose `env` (e.g. `DATABASE_URL`) the app receives and whose networks it joins.
     * The app's environment then becomes secret as a whole.
     * @default []
     */
    readonly link?: readonly Database[];
    /** Extra networks every container joins; web containers answer on them under the app's name. @default [] */
    readonly networks?: readonly BridgeNet[];
    /**
     * Named volumes that survive redeploys: key → path in the container. The Docker volume is
     * called `<app>-<key>`.
     * @default {}
     * @example volumes: { "wp-content": "/var/www/html/wp-content" }
     */
    readonly volumes?: Readonly<Record<string, string>>;
    /**
     * The web containers' healthcheck; a new container must pass it before the old one is removed.
     * `false` turns it off (and with it the wait: replacements are then not checked).
     * @default - every 5 s, timeout 5 s, 3 retries, 60 s to boot, checking that `port` accepts TCP connections
     */
    readonly healthcheck?: AppHealthcheck | false;
    /** json-file log rotation. @default { maxSize: "10m", maxFiles: 3 } */
    readonly logs?: AppLogs;
    /**
     * Seconds a stopping container gets to finish in-flight requests after SIGTERM before it is killed;
     * also the longest a deploy waits, once the edge sends new requests to the new web containers, for
     * the requests still in flight to the old ones (open websockets) before those are stopped.
     * @default 30
     */
    readonly stopGraceSeconds?: number;
    /**
     * How many releases of a `build` app keep their image on the host, for `dropyard rollback`. Each
     * deploy of a new image is a release (`dropyard/<host>-<app>:release-<n>`); older ones are pruned.
     * A stack pins a release with the config key `dropyard:releases` (`{ "<app>": <n> }`, which
     * `dropyard rollback` sets): the App then runs that release's image and builds nothing.
     * @default 5
     */
    readonly keepReleases?: number;
    /**
     * Jobs run on a schedule, by name (a process type name: letters, digits, `_`, `-`). Each run is a
     * one-off container of the app's current release, with its environment, volumes and networks
     * (not the edge's), started by an /etc/cron.d entry on the host (root or passwordless sudo
     * needed; a host without a cron daemon gets a warning). A job never overlaps a run of itself: a
     * run due while the previous one goes on is skipped. The last run's container stays until the
     * next run, so `dropyard logs <app> -p <job>` shows its output and `dropyard ps` its exit status.
     * @default {}
     * @example schedules: { "clear-sessions": { cron: "0 3 * * *", command: "python manage.py clearsessions" } }
     */
    readonly schedules?: Readonly<Record<string, AppSchedule>>;
}
