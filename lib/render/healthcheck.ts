// The default web healthcheck: "does the port accept TCP connections?", written for whatever the
// image happens to contain. Docker runs it with `/bin/sh -c` inside the container.

/**
 * A one-line shell check that exits 0 when something accepts TCP connections on `port` inside the
 * container. It connects to 127.0.0.1 with the first of bash (`/dev/tcp`), python3 or node that
 * the image has; an image with none of them (Alpine, busybox, distroless-with-sh) falls back to
 * finding a listening socket on the port in `/proc/net/tcp` and `/proc/net/tcp6`, which needs
 * nothing but the shell's own `read`. Images without `/bin/sh` need their own check.
 */
export function tcpCheck(port: number): string {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`not a TCP port: ${port}`);
    const hex = port.toString(16).toUpperCase().padStart(4, "0");
    const node = `require("net").connect(${port},"127.0.0.1").on("connect",()=>process.exit(0)).on("error",()=>process.exit(1))`;
    return [
        `if command -v bash >/dev/null 2>&1; then exec bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port}'`,
        `elif command -v python3 >/dev/null 2>&1; then exec python3 -c 'import socket; socket.create_connection(("127.0.0.1", ${port}), 3).close()'`,
        `elif command -v node >/dev/null 2>&1; then exec node -e '${node}'`,
        // Fields: sl local_address rem_address st ...; state 0A is LISTEN, the port is hex.
        `else for f in /proc/net/tcp /proc/net/tcp6; do [ -r "$f" ] || continue; while read -r _ a _ s _; do case "$a:$s" in *:${hex}:0A) exit 0;; esac; done < "$f"; done; exit 1`,
        `fi`,
    ].join("; ");
}
