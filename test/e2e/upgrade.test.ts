// Major upgrades end to end (fixtures/upgrade-stack): a Postgres 15 and a MariaDB 10.11 (stand-ins built on
// Debian bookworm) get rows, then the stack's versions are raised to 17 and 11 (trixie's). Three upgrades that
// cannot finish fail the deploy and leave the old server serving its rows: a new Postgres image that cannot
// start, a restore that fails (an extension Postgres 17 no longer has), and a new MariaDB that refuses the
// upgraded files. Once the cause is fixed the upgrade moves every row, keeps the old data in a volume, and a
// downgrade afterwards fails the deploy with the old server still serving. Traffic: the engine's socket only.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { down, up } from "../../sandbox";
import { prepareEngine } from "../../sandbox/prepare";
import { docker, dockerResult, mariadb, psql } from "../support/docker";

const FIXTURE = join(__dirname, "fixtures", "upgrade-stack");
const STACK = "e2e";
const IMAGES = ["postgres:15", "postgres:17", "mariadb:10.11", "mariadb:11", "nginx:1.30"];
const PG = "up-pg";
const MARIA = "up-maria";
const VOLUMES = [`${PG}-data`, `${PG}-data-15`, `${MARIA}-data`, `${MARIA}-data-10.11`];
// postgres:17 with an initdb option that does not exist: the new server fails on the upgrade's empty volume.
const NO_START = "dropyard-e2e/postgres-no-start:17";
// mariadb:11 configured for another InnoDB page size: it refuses the copied 10.11 data, as a server whose
// configuration does not match its files does.
const MARIA_NO_START = "dropyard-e2e/mariadb-no-start:11";

const dataDir = mkdtempSync(join(tmpdir(), "dropyard-upgrade-e2e-"));
const log: string[] = [];
const figures: Record<string, number> = {};

const exists = async (...args: string[]) => (await dockerResult(...args)).status === 0;

interface Images {
    pgImage?: string;
    mariaImage?: string;
}

async function deploy(pgVersion: string, mariaVersion: string, images: Images = {}): Promise<number> {
    const t = Date.now();
    const config = { dataDir, pgVersion, mariaVersion, ...images };
    await up(FIXTURE, { stack: STACK, config, log: line => log.push(line) });
    return (Date.now() - t) / 1000;
}

/** A deploy that must fail; returns the sandbox's error message and log. */
async function failedDeploy(pgVersion: string, mariaVersion: string, images: Images = {}): Promise<string> {
    const from = log.length;
    try {
        await deploy(pgVersion, mariaVersion, images);
    } catch (e) {
        return `${(e as Error).message}\n${log.slice(from).join("\n")}`;
    }
    throw new Error(`the deploy of ${pgVersion}/${mariaVersion} succeeded`);
}

const PG_SUM = "SELECT md5(string_agg(o::text, ';' ORDER BY id)) || ' ' || count(*) FROM orders o";
const MARIA_SUM =
    "SELECT CONCAT(MD5(GROUP_CONCAT(CONCAT_WS('/', id, note, amount) ORDER BY id SEPARATOR ';')), ' ', COUNT(*)) FROM orders";

async function sums(): Promise<string[]> {
    return [
        await psql(PG, "app", "up_pg", PG_SUM),
        await mariadb(MARIA, "up_maria", `SET SESSION group_concat_max_len = 67108864; ${MARIA_SUM}`),
    ];
}

async function versions(): Promise<string[]> {
    return [
        await psql(PG, "app", "up_pg", "SHOW server_version"),
        await mariadb(MARIA, "up_maria", "SELECT VERSION()"),
    ];
}

async function removeVolumes(): Promise<void> {
    for (const v of VOLUMES) if (await exists("volume", "inspect", v)) await docker("volume", "rm", v);
}

/** Nothing of `name`'s failed attempt from major `from` is left: no temporary servers, network, copy or kept volume. */
async function assertNoLeftovers(name: string, from: string): Promise<void> {
    assert.equal(await docker("ps", "-aq", "--filter", `label=dev.dropyard.upgrade=${name}`), "");
    assert.equal(await exists("network", "inspect", `${name}-upgrade`), false);
    assert.equal(await exists("volume", "inspect", `${name}-data-${from}`), false);
    assert.equal(await exists("volume", "inspect", `${name}-data-upgrade`), false);
}

describe("major upgrades keep the data: Postgres 15 -> 17, MariaDB 10.11 -> 11", { timeout: 900_000 }, () => {
    before(async () => {
        // Rebuilt when their recipe changed: the upgrade needs this branch's MARIADB_AUTO_UPGRADE in mariadb:11.
        await prepareEngine(IMAGES, { rebuildStale: true });
        await down(FIXTURE, { stack: STACK, purge: true, log: false }).catch(() => undefined);
        await removeVolumes();
        const made = await docker("create", "postgres:17");
        await docker("commit", "--change", "ENV POSTGRES_INITDB_ARGS=--no-such-option", made.trim(), NO_START);
        await docker("rm", "-v", made.trim()); // -v: the image declares a VOLUME
        const maria = (await docker("create", "mariadb:11")).trim();
        const cnf = join(mkdtempSync(join(tmpdir(), "dropyard-upgrade-cnf-")), "zz-page-size.cnf");
        writeFileSync(cnf, "[mariadbd]\ninnodb_page_size=65536\n");
        await docker("cp", cnf, `${maria}:/etc/mysql/conf.d/zz-page-size.cnf`);
        rmSync(dirname(cnf), { recursive: true });
        await docker("commit", maria, MARIA_NO_START);
        await docker("rm", "-v", maria);
        figures.firstUpSeconds = await deploy("15", "10.11");
    });

    after(async () => {
        console.log(`upgrade figures: ${JSON.stringify(figures)}`);
        await down(FIXTURE, { stack: STACK, purge: true, log: false }).catch(e =>
            console.error(`down: ${(e as Error).message}`),
        );
        await removeVolumes();
        await dockerResult("rmi", NO_START, MARIA_NO_START);
        rmSync(dataDir, { recursive: true, force: true });
    });

    let original: string[];

    test("rows written on the old majors", async () => {
        await psql(
            PG,
            "app",
            "up_pg",
            "CREATE TABLE orders (id serial PRIMARY KEY, note text NOT NULL, amount numeric(10,2));" +
                "CREATE INDEX orders_note ON orders (note);" +
                "INSERT INTO orders (note, amount) SELECT 'order ' || i || ' ü', i * 1.25 FROM generate_series(1, 30000) i",
        );
        await mariadb(
            MARIA,
            "up_maria",
            "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(80) NOT NULL, amount DECIMAL(10,2), KEY (note)) CHARACTER SET utf8mb4;" +
                "INSERT INTO orders (note, amount) SELECT CONCAT('order ', seq, ' ü'), seq * 1.25 FROM seq_1_to_30000",
        );
        original = await sums();
        assert.match(original[0], / 30000$/);
        assert.match(original[1], / 30000$/);
        const [pg, maria] = await versions();
        assert.match(pg, /^15\./);
        assert.match(maria, /^10\.11\./);
    });

    test("a new image that cannot start fails the deploy and leaves the old server serving its rows", async () => {
        const container = await docker("inspect", "-f", "{{.Id}}", PG);
        const t = Date.now();
        const message = await failedDeploy("17", "10.11", { pgImage: NO_START });
        figures.failedUpSeconds = (Date.now() - t) / 1000;
        assert.match(
            message,
            /upgrade: Postgres "up-pg" on host "uphost": the temporary server up-pg-upgrade-new stopped/,
        );
        assert.match(message, /initdb: unrecognized option/);
        assert.match(message, /up-pg serves Postgres 15 again/);
        // The same container on the same volume, serving the same rows.
        assert.equal(await docker("inspect", "-f", "{{.Id}}", PG), container);
        assert.match((await versions())[0], /^15\./);
        assert.deepEqual(await sums(), original);
        await assertNoLeftovers(PG, "15");
    });

    test("an upgrade that cannot finish fails the deploy and leaves the old server serving its rows", async () => {
        // adminpack is in Postgres 15's contrib and gone from 17's: its restore fails, as it would for a user.
        await psql(PG, "app", "up_pg", "CREATE EXTENSION adminpack");
        const message = await failedDeploy("17", "10.11");
        assert.match(
            message,
            /upgrade: Postgres "up-pg" on host "uphost": moving the data \(pg_dump \| pg_restore\) failed/,
        );
        assert.match(message, /adminpack/);
        assert.match(message, /up-pg serves Postgres 15 again/);
        assert.match((await versions())[0], /^15\./);
        assert.deepEqual(await sums(), original);
        await assertNoLeftovers(PG, "15");
        await psql(PG, "app", "up_pg", "DROP EXTENSION adminpack");
    });

    test("a MariaDB that cannot start on the upgraded data fails the deploy; the old server serves its rows", async () => {
        const container = await docker("inspect", "-f", "{{.Id}}", MARIA);
        const message = await failedDeploy("15", "11", { mariaImage: MARIA_NO_START });
        assert.match(
            message,
            /upgrade: MariaDB "up-maria" on host "uphost": the temporary server up-maria-upgrade-new stopped/,
        );
        assert.match(message, /\[ERROR\] InnoDB: /, "the server's own words about why it stopped");
        assert.match(message, /up-maria serves MariaDB 10\.11 again/);
        assert.equal(await docker("inspect", "-f", "{{.Id}}", MARIA), container);
        assert.match((await versions())[1], /^10\.11\./);
        assert.deepEqual(await sums(), original);
        await assertNoLeftovers(MARIA, "10.11");
    });

    test("raising the versions moves every row to Postgres 17 and MariaDB 11 and keeps the old data", async () => {
        const start = log.length;
        figures.upgradeUpSeconds = await deploy("17", "11");
        assert.match(log.slice(start).join("\n"), /run create of up-maria-upgrade/);
        const [pg, maria] = await versions();
        assert.match(pg, /^17\./);
        assert.match(maria, /^11\./);
        assert.deepEqual(await sums(), original);
        // The sequence carried on, and the app's user still logs in with its password over the network.
        assert.equal(
            await psql(
                PG,
                "app",
                "up_pg",
                "WITH n AS (INSERT INTO orders (note) VALUES ('after') RETURNING id) SELECT id FROM n",
            ),
            "30001",
        );
        await docker(
            "exec",
            PG,
            "sh",
            "-c",
            'PGPASSWORD="$POSTGRES_PASSWORD" psql -h 127.0.0.1 -U app -d up_pg -Atc "SELECT 1"',
        );
        await docker(
            "exec",
            MARIA,
            "sh",
            "-c",
            'mariadb -h 127.0.0.1 -uapp -p"$MARIADB_PASSWORD" up_maria -e "SELECT 1"',
        );
        // The old data is kept, untouched, in a volume of its own.
        const kept = await docker(
            "run",
            "--rm",
            "--entrypoint",
            "cat",
            "-v",
            `${PG}-data-15:/d:ro`,
            "postgres:17",
            "/d/PG_VERSION",
        );
        assert.equal(kept.trim(), "15");
        assert.ok(await exists("volume", "inspect", `${MARIA}-data-10.11`));
        // mariadb-upgrade ran on the data (11.8 also serves 10.11 files without it), after saving the system tables.
        assert.match(await docker("exec", MARIA, "cat", "/var/lib/mysql/mariadb_upgrade_info"), /^11\./);
        assert.match(
            await docker("exec", MARIA, "sh", "-c", "ls /var/lib/mysql"),
            /system_mysql_backup_10\.11\.\d+\.sql\.gz/,
        );
        // The next deploy changes nothing and runs no upgrade.
        const from = log.length;
        await deploy("17", "11");
        assert.doesNotMatch(log.slice(from).join("\n"), /run create of up-(pg|maria)-upgrade/);
    });

    test("a downgrade fails the deploy before anything changes; the new server keeps serving", async () => {
        const message = await failedDeploy("15", "11");
        assert.match(message, /holds Postgres 17; version "15" is older, and a downgrade is not supported/);
        assert.match((await versions())[0], /^17\./);
        assert.equal(await psql(PG, "app", "up_pg", "SELECT count(*) FROM orders"), "30001");
        const maria = await failedDeploy("17", "10.11");
        assert.match(maria, /holds MariaDB 11; version "10.11" is older/);
        assert.match((await versions())[1], /^11\./);
    });
});
