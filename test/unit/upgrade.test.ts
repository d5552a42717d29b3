import { test } from "node:test";
import * as assert from "node:assert/strict";
import { evaluate } from "../../sandbox/harness";
import { Host, MariaDB, Postgres } from "../../lib";

const CMD = "command:local:Command";
const CONTAINER = "docker:index/container:Container";
const IMAGE = "docker:index/remoteImage:RemoteImage";

test("the container waits for the upgrade, which waits for the backup and re-runs when the image changes", async () => {
    const g = await evaluate(() => {
        const host = new Host("box", { local: true, dataDir: "/srv/dy" });
        new Postgres("db", { host, version: "18", backup: true });
        new MariaDB("maria", { host, version: "10.11" });
    });
    const upgrade = g.one(CMD, "db-upgrade");
    assert.ok(g.waitsFor(g.one(CONTAINER, "db-container"), upgrade));
    assert.ok(g.waitsFor(upgrade, g.one(CMD, "db-backup-before-change")));
    const imageId = g.one(IMAGE, "db-image").outputs.imageId;
    assert.deepEqual(upgrade.inputs.triggers, [imageId]);
    // The script moves data into the volume the container mounts, to the version asked, with 18's layout.
    assert.match(upgrade.inputs.create, /container='db' volume='db-data' image='[^']+' target='18'/);
    assert.match(upgrade.inputs.create, /printf '%s\\n' 'PGDATA=\/var\/lib\/postgresql\/18\/docker'/);
    assert.match(upgrade.inputs.create, /-v "\$work:\/var\/lib\/postgresql" "\$image"/);
    const maria = g.one(CMD, "maria-upgrade");
    assert.ok(g.waitsFor(g.one(CONTAINER, "maria-container"), maria));
    assert.match(maria.inputs.create, /supported='10\.6 10\.11 11'/);
    assert.match(maria.inputs.create, /mariadb-upgrade on a copy/);
    // No secret in the script: passwords reach the temporary servers through an env file taken from the container.
    assert.doesNotMatch(maria.inputs.create, /PASSWORD=/);
});
