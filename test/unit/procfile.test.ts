import { test } from "node:test";
import * as assert from "node:assert/strict";
import { parseProcfile, processCommand, ProcfileError } from "../../lib/render/procfile";

/** Asserts that parsing `text` fails with exactly `message` on `line`. */
function fails(text: string, line: number, message: string) {
    assert.throws(
        () => parseProcfile(text),
        (e: unknown) => {
            assert.ok(e instanceof ProcfileError, `not a ProcfileError: ${e}`);
            assert.equal(e.line, line);
            assert.equal(e.message, message);
            return true;
        },
    );
}

test("parseProcfile reads type: command lines in order with their line numbers", () => {
    assert.deepEqual(parseProcfile("web: gunicorn app:app --bind 0.0.0.0:$PORT\nworker:python worker.py\n"), [
        { type: "web", command: "gunicorn app:app --bind 0.0.0.0:$PORT", line: 1 },
        { type: "worker", command: "python worker.py", line: 2 },
    ]);
});

test("parseProcfile skips comments and blank lines and accepts CRLF, a BOM and surrounding spaces", () => {
    const text =
        "\uFEFF# Heroku-style Procfile\r\n\r\n  web:   node server.js  \r\n   # indented comment\r\nrelease_task-2: ./migrate.sh\r\n";
    assert.deepEqual(parseProcfile(text), [
        { type: "web", command: "node server.js", line: 3 },
        { type: "release_task-2", command: "./migrate.sh", line: 5 },
    ]);
});

test("parseProcfile keeps colons and # inside the command", () => {
    assert.deepEqual(parseProcfile("web: gunicorn app:app # the app"), [
        { type: "web", command: "gunicorn app:app # the app", line: 1 },
    ]);
});

test("parseProcfile of an empty file has no processes", () => {
    assert.deepEqual(parseProcfile("\n# nothing yet\n"), []);
});

test("parseProcfile rejects a line without a colon", () => {
    fails(
        "web: a\nworker python w.py\n",
        2,
        'line 2 "worker python w.py" is not "type: command"; write one process per line as type: command, e.g. web: gunicorn app:app',
    );
});

test("parseProcfile rejects a line with nothing before the colon", () => {
    fails(
        ": gunicorn",
        1,
        'line 1 ": gunicorn" is not "type: command"; write one process per line as type: command, e.g. web: gunicorn app:app',
    );
});

test("parseProcfile rejects a type with characters Heroku does not allow", () => {
    fails("web.1: gunicorn", 1, 'line 1 process type "web.1" is not a valid name; use letters, digits, _ and - only');
});

test("parseProcfile rejects a type with no command", () => {
    fails(
        "web: gunicorn\nworker:   \n",
        2,
        'line 2 process type "worker" has no command; write the command after "worker:"',
    );
});

test("parseProcfile rejects a type defined twice, naming both lines", () => {
    fails(
        "web: a\n\nweb: b\n",
        3,
        'line 3 process type "web" is already defined on line 1; keep one line per process type',
    );
});

test("processCommand execs a simple command so it receives the stop signal", () => {
    assert.deepEqual(processCommand("gunicorn app:app --bind 0.0.0.0:$PORT"), [
        "/bin/sh",
        "-c",
        "exec gunicorn app:app --bind 0.0.0.0:$PORT",
    ]);
    assert.deepEqual(processCommand("node server.js > /dev/stdout"), [
        "/bin/sh",
        "-c",
        "exec node server.js > /dev/stdout",
    ]);
});

test("processCommand leaves compound commands, assignments, keywords and explicit exec as written", () => {
    for (const command of [
        "cd api && exec gunicorn app:app",
        "a; b",
        "a | b",
        "a &",
        "FOO=1 node server.js",
        "if true; then x; fi",
        "(cd api; x)",
        "exec node server.js",
        "while :; do x; done",
    ]) {
        assert.deepEqual(processCommand(command), ["/bin/sh", "-c", command], command);
    }
});
