"""Stand-in for dockersamples/visualizer: one HTML page, the swarm's nodes and their tasks.

Reads the Docker Engine API from the socket the stack file mounts (/var/run/docker.sock);
answers on port 8080 (PORT). `/` is the page, `/apis/nodes` and `/apis/tasks` the raw JSON,
like the original's proxy endpoints. Standard library only.
"""

import html
import http.client
import http.server
import json
import os
import socket

SOCKET = os.environ.get("DOCKER_SOCKET", "/var/run/docker.sock")


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str):
        super().__init__("localhost", timeout=10)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self.path)


def engine(path: str):
    conn = UnixHTTPConnection(SOCKET)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"GET {path}: HTTP {resp.status}: {body[:200]!r}")
        return json.loads(body)
    finally:
        conn.close()


def page() -> str:
    nodes = engine("/nodes")
    tasks = [t for t in engine("/tasks") if t.get("DesiredState") == "running"]
    services = {s["ID"]: s["Spec"]["Name"] for s in engine("/services")}
    rows = []
    for n in sorted(nodes, key=lambda n: n["Description"]["Hostname"]):
        mine = [t for t in tasks if t.get("NodeID") == n["ID"]]
        items = "".join(
            f"<li>{html.escape(services.get(t['ServiceID'], t['ServiceID']))}.{t.get('Slot', '')} "
            f"({html.escape(t['Status']['State'])})</li>" for t in mine)
        role = n["Spec"]["Role"] + (" (leader)" if n.get("ManagerStatus", {}).get("Leader") else "")
        rows.append(f"<div class='node'><h2>{html.escape(n['Description']['Hostname'])}</h2>"
                    f"<p>{html.escape(role)} · {html.escape(n['Status']['State'])} · "
                    f"{html.escape(n['Spec']['Availability'])}</p><ul>{items}</ul></div>")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>Visualizer</title></head>"
            f"<body><h1>Visualizer</h1>{''.join(rows)}</body></html>")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        try:
            if self.path.startswith("/apis/nodes"):
                body, ctype = json.dumps(engine("/nodes")), "application/json"
            elif self.path.startswith("/apis/tasks"):
                body, ctype = json.dumps(engine("/tasks")), "application/json"
            else:
                body, ctype = page(), "text/html; charset=utf-8"
            status = 200
        except Exception as exc:  # no socket, not a manager: say so, as a 500
            body, ctype, status = f"cannot read the swarm from {SOCKET}: {exc}\n", "text/plain", 500
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
