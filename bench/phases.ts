// Where a redeploy's wall time went, from the engine's events: pure, so the unit tests can check the split.
import { EngineEvent } from "./events";

export interface DeployTimes {
    /** When the deploy began and ended (the command returned), ms since the epoch. */
    readonly startMs: number;
    readonly endMs: number;
    readonly events: readonly EngineEvent[];
    /** The new web container's name and when its port first accepted a connection. */
    readonly newName: string;
    readonly readyMs: number | undefined;
    /** When the new web container first answered an HTTP request. */
    readonly answersMs?: number;
    /** The container it replaces (for stop-then-start, the same name). */
    readonly oldName: string;
    /** The edge container, whose `docker exec`s mark the switch; absent for a method that does not touch it. */
    readonly edgeName?: string;
}

/** Seconds, each null when the step did not happen (or was not seen). */
export interface DeploySplit {
    /** Program, plan, container create: from the start until the new container started (the release excluded). */
    before_seconds: number | null;
    /** The release command's container, start to exit. */
    release_seconds: number | null;
    /** The new container's start until its port accepted a connection. */
    boot_to_ready_seconds: number | null;
    /** Its port accepted a connection until it first answered an HTTP request (its workers loading the app). */
    ready_to_answer_seconds: number | null;
    /** The app ready until the deploy method first touched the edge (its health wait). */
    health_detect_seconds: number | null;
    /** The first `docker exec` in the edge until its (last) `nginx -s reload`. */
    switch_seconds: number | null;
    /** The reload until the old container was told to stop. */
    drain_seconds: number | null;
    /** The old container told to stop until the deploy command returned. */
    after_seconds: number | null;
    /** The old container stopped (first kill/die) until the new one started: the gap without a server. */
    gap_seconds: number | null;
    total_seconds: number;
    /** Everything but the app's boot and the release command. */
    overhead_seconds: number | null;
    /**
     * The deploy step's own share (the goal: 2 s): the app's first HTTP answer (its boot done) until the
     * reload, and the drain. Null for a method that does not switch the edge.
     */
    step_own_seconds: number | null;
}

export interface Mark {
    readonly atMs: number;
    readonly label: string;
}

const first = (events: readonly EngineEvent[], f: (e: EngineEvent) => boolean, afterMs: number) =>
    events.find(e => e.atMs >= afterMs && f(e))?.atMs;
const seconds = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? null : Math.max(0, b - a) / 1000;

/** The split and the marks (ms from the start) for the chart. */
export function splitDeploy(t: DeployTimes): { split: DeploySplit; marks: Mark[] } {
    const ev = [...t.events].sort((a, b) => a.atMs - b.atMs);
    const container = (name: string | RegExp, actions: string[]) => (e: EngineEvent) =>
        e.type === "container" &&
        (typeof name === "string" ? e.name === name : name.test(e.name)) &&
        actions.includes(e.action);
    // The release container has a name Docker makes up; its process label says what it is.
    const releasing = (actions: string[]) => (e: EngineEvent) =>
        e.type === "container" && e.process === "release" && actions.includes(e.action);
    const releaseStart = first(ev, releasing(["start"]), t.startMs);
    const releaseEnd = releaseStart === undefined ? undefined : first(ev, releasing(["die"]), releaseStart);
    const oldStop = first(ev, container(t.oldName, ["kill", "stop", "die"]), t.startMs);
    // For stop-then-start the new container has the old one's name: its start is the one after the stop.
    const newStart = first(
        ev,
        container(t.newName, ["start"]),
        t.newName === t.oldName ? (oldStop ?? t.startMs) : t.startMs,
    );
    const isEdgeExec = (e: EngineEvent) =>
        t.edgeName !== undefined && e.name === t.edgeName && e.action.startsWith("exec_start");
    const edgeFirst = newStart === undefined ? undefined : first(ev, isEdgeExec, newStart);
    // dropyard's deploy step reloads twice (the new servers beside the live ones, then alone): the switch is the
    // last reload before the old container is told to stop.
    const reloads =
        edgeFirst === undefined
            ? []
            : ev.filter(
                  e =>
                      e.atMs >= edgeFirst &&
                      e.atMs <= (oldStop !== undefined && oldStop > edgeFirst ? oldStop : t.endMs) &&
                      isEdgeExec(e) &&
                      e.action.includes("nginx -s reload"),
              );
    const reload = reloads.at(-1)?.atMs;
    const release = seconds(releaseStart, releaseEnd);
    const drain = reload === undefined || oldStop === undefined || oldStop < reload ? null : seconds(reload, oldStop);
    const toReload = seconds(t.answersMs, reload);
    const boot = seconds(newStart, t.readyMs);
    const total = (t.endMs - t.startMs) / 1000;
    // Stop-then-start and compose stop the old container before the new one starts: a gap without a server.
    const stopFirst = oldStop !== undefined && newStart !== undefined && oldStop < newStart;
    const firstChange = stopFirst ? oldStop : newStart;
    const split: DeploySplit = {
        before_seconds:
            firstChange === undefined ? null : Math.max(0, (firstChange - t.startMs) / 1000 - (release ?? 0)),
        release_seconds: release,
        boot_to_ready_seconds: boot,
        ready_to_answer_seconds: seconds(t.readyMs, t.answersMs),
        health_detect_seconds: seconds(t.readyMs, edgeFirst),
        switch_seconds: seconds(edgeFirst, reload),
        drain_seconds: drain,
        after_seconds: oldStop === undefined || stopFirst ? null : seconds(oldStop, t.endMs),
        gap_seconds: stopFirst ? seconds(oldStop, t.readyMs ?? newStart) : null,
        total_seconds: total,
        overhead_seconds: boot === null ? null : total - boot - (release ?? 0),
        step_own_seconds: toReload === null || drain === null ? null : toReload + drain,
    };
    const marks: Mark[] = [];
    const mark = (at: number | undefined, label: string) => {
        if (at !== undefined) marks.push({ atMs: at - t.startMs, label });
    };
    mark(t.startMs, "deploy");
    mark(releaseStart, "release");
    mark(oldStop, "old stopped");
    mark(newStart, "new started");
    mark(t.readyMs, "new ready");
    mark(t.answersMs, "new answers");
    mark(reload, "edge switched");
    mark(t.endMs, "done");
    return { split, marks: marks.sort((a, b) => a.atMs - b.atMs) };
}
