// A temp dir that stands in for the edge container's filesystem, for a real `nginx -t` of rendered configs:
// container paths in the configs are mapped into it, stub certificates are made with openssl, and nginx runs with
// -p/-c/-e so nothing under / is touched.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { EDGE_PATHS } from "../../lib/render/nginx";
import { tempDir } from "./fixtures";

/** Debian's nginx, installed by scripts/test-tools.sh. */
export const NGINX = "/usr/sbin/nginx";
const work = tempDir("dropyard-nginx-root-");

/** A fresh fake container root with nginx.conf as the official image lays it out. */
export function makeRoot(): string {
    const root = fs.mkdtempSync(path.join(work, "root-"));
    for (const d of ["conf.d", "tmp", "logs"]) fs.mkdirSync(path.join(root, d));
    fs.writeFileSync(
        path.join(root, "nginx.conf"),
        [
            `pid ${root}/nginx.pid;`,
            `error_log ${root}/logs/error.log;`,
            "events {}",
            "http {",
            ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map(t => `    ${t}_temp_path ${root}/tmp/${t};`),
            "    access_log off;",
            `    include ${root}/conf.d/*.conf;`,
            "}",
            "",
        ].join("\n"),
    );
    return root;
}

/** Whether the host's nginx knows `http2 on` (1.25.1 and later; Debian 12's is 1.22). */
const HOST_NGINX_HAS_HTTP2_ON = (() => {
    const v = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(spawnSync(NGINX, ["-v"], { encoding: "utf8" }).stderr ?? "");
    return v !== null && Number(v[1]) * 1e6 + Number(v[2]) * 1e3 + Number(v[3]) >= 1_025_001;
})();

/**
 * What the host's nginx can check of a config written for the edge: on one older than 1.25.1, `http2 on;` becomes
 * a comment. The edge (nginx 1.27.3 or later) takes it, and test/e2e/examples/django-postgres.test.ts runs nginx -t
 * there on the rendered TLS vhost.
 */
export function forHostNginx(config: string): string {
    return HOST_NGINX_HAS_HTTP2_ON ? config : config.replace(/^(\s*)http2 on;$/gm, "$1# http2 on; (the edge's nginx)");
}

/** Maps the edge container's paths into `root`, for the host's nginx (forHostNginx). */
export function chroot(config: string, root: string): string {
    let out = forHostNginx(config);
    for (const p of Object.values(EDGE_PATHS)) out = out.split(p).join(root + p);
    return out;
}

/** A stub certificate and key at `dir` (a container path, mapped into root). */
export function stubCert(root: string, certificate: string, key: string, cn = "stub.example.com"): void {
    fs.mkdirSync(path.dirname(root + certificate), { recursive: true });
    fs.mkdirSync(path.dirname(root + key), { recursive: true });
    execFileSync(
        "openssl",
        [
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            `/CN=${cn}`,
            "-days",
            "1",
            "-keyout",
            root + key,
            "-out",
            root + certificate,
        ],
        { stdio: "ignore" },
    );
}

export function nginxT(root: string): { ok: boolean; output: string } {
    const r = spawnSync(
        NGINX,
        ["-t", "-p", root, "-c", path.join(root, "nginx.conf"), "-e", path.join(root, "logs", "error.log")],
        { encoding: "utf8" },
    );
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}
