"""What the simulated Wings daemon serves on the same port: the console websocket, signed
download and upload URLs, and the JWTs the panel signs for them with the node's token.

Websocket protocol (as Wings speaks it): the client sends ``{"event": "auth", "args":
[token]}`` and gets ``auth success`` (or ``jwt error``), then ``status``, ``console
output``, ``stats`` (args hold a JSON string) and ``install completed`` events; it may
send ``send logs``, ``send stats``, ``set state`` (start/stop/restart/kill) and ``send
command``. Near expiry the server sends ``token expiring``, after it ``token expired``;
sending a fresh ``auth`` continues the session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import posixpath
import select
import socket
import time
from typing import Any

from simulators.pterodactyl import state as st
from simulators.pterodactyl.routing import Ctx, Response, Router

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_FRAME = 1024 * 1024
EXPIRY_WARNING = 60  # seconds before expiry Wings sends "token expiring"
POWER_PERMISSION = {
    "start": "control.start",
    "stop": "control.stop",
    "kill": "control.stop",
    "restart": "control.restart",
}
DAEMON_PREFIX = "\x1b[33;1m[Pterodactyl Daemon]:\x1b[39m"


def register(r: Router) -> None:
    r.add("GET", "/api/servers/{uuid}/ws", websocket, api="wings")
    r.add("GET", "/download/file", download_file, api="wings")
    r.add("GET", "/download/backup", download_backup, api="wings")
    r.add("POST", "/upload/file", upload_file, api="wings")


# --- JWT (HS256) ------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_jwt(claims: dict[str, Any], secret: str) -> str:
    header = _b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256)
    return f"{header}.{payload}.{_b64(signature.digest())}"


class JwtError(Exception):
    pass


def verify_jwt(token: str, secret: str) -> dict[str, Any]:
    parts = str(token).split(".")
    if len(parts) != 3:
        raise JwtError("jwt: malformed token")
    expected = hmac.new(secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256)
    try:
        given = _unb64(parts[2])
        claims = json.loads(_unb64(parts[1]))
    except (ValueError, UnicodeDecodeError):
        raise JwtError("jwt: malformed token") from None
    if not hmac.compare_digest(expected.digest(), given):
        raise JwtError("jwt: HMAC verification failed")
    now = time.time()
    if claims.get("exp") is not None and now >= float(claims["exp"]):
        raise JwtError("jwt: exp claim is invalid")
    if claims.get("nbf") is not None and now < float(claims["nbf"]):
        raise JwtError("jwt: nbf claim is invalid")
    return claims


def node_url(node: st.Node) -> str:
    return f"{node.scheme}://{node.fqdn}:{node.daemon_listen}"


def websocket_credentials(ctx: Ctx, server: st.Server) -> dict[str, Any]:
    """``GET /api/client/servers/{s}/websocket``: a 10-minute token and the socket URL."""
    s, user = ctx.state, ctx.user
    node = s.nodes[server.node_id]
    now = int(time.time())
    jti = hashlib.md5(f"{user.id}{server.uuid}".encode(), usedforsecurity=False).hexdigest()
    claims = {
        "iss": ctx.base_url(),
        "aud": [node_url(node)],
        "jti": jti,
        "iat": now,
        "nbf": now - 300,
        "exp": now + int(ctx.sim.switch("websocket_token_seconds")),
        "server_uuid": server.uuid,
        "permissions": ctx.permissions(server),
        "user_uuid": user.uuid,
        "user_id": user.id,
        "unique_id": st.random_string(16),
    }
    scheme = "wss" if node.scheme == "https" else "ws"
    return {
        "data": {
            "token": sign_jwt(claims, node.daemon_token),
            "socket": f"{scheme}://{node.fqdn}:{node.daemon_listen}/api/servers/{server.uuid}/ws",
        }
    }


def signed_url(
    ctx: Ctx, server: st.Server, path: str, claims: dict[str, Any], minutes: int = 15
) -> str:
    node = ctx.state.nodes[server.node_id]
    now = int(time.time())
    token = sign_jwt(
        {
            "iat": now,
            "nbf": now - 300,
            "exp": now + minutes * 60,
            "server_uuid": server.uuid,
            "unique_id": st.random_string(16),
            **claims,
        },
        node.daemon_token,
    )
    return f"{node_url(node)}{path}{'&' if '?' in path else '?'}token={token}"


# --- signed downloads and uploads -------------------------------------------------------------


def _wings_error(status: int, message: str) -> Response:
    return Response(status, {"error": message})


def _claims(ctx: Ctx) -> tuple[st.Server, dict[str, Any]] | Response:
    if ctx.sim.switch("wings_down"):
        return _wings_error(502, "Wings is not reachable.")
    token = ctx.req.query.get("token")
    if not isinstance(token, str):
        return _wings_error(400, "A token is required.")
    with ctx.state.lock:
        for server in ctx.state.servers.values():
            node = ctx.state.nodes.get(server.node_id)
            try:
                claims = verify_jwt(token, node.daemon_token) if node else None
            except JwtError:
                continue
            if claims and claims.get("server_uuid") == server.uuid:
                return server, claims
    return _wings_error(403, "You are not authorized to access this endpoint.")


def download_file(ctx: Ctx) -> Response:
    found = _claims(ctx)
    if isinstance(found, Response):
        return found
    server, claims = found
    entry = server.files.get(str(claims.get("file_path", "")))
    if entry is None or entry.is_dir:
        return _wings_error(404, "The requested resource was not found on the system.")
    name = posixpath.basename(claims["file_path"])
    return Response(
        200,
        entry.content,
        {"Content-Disposition": f'attachment; filename="{name}"'},
        content_type="application/octet-stream",
    )


def download_backup(ctx: Ctx) -> Response:
    import gzip

    found = _claims(ctx)
    if isinstance(found, Response):
        return found
    server, claims = found
    backup = next(
        (b for b in ctx.state.backups.values() if b.uuid == claims.get("backup_uuid")), None
    )
    if backup is None or not backup.is_successful:
        return _wings_error(404, "The requested resource was not found on the system.")
    data = gzip.compress(f"Simulated backup {backup.name} of {server.name}\n".encode())
    return Response(
        200,
        data,
        {"Content-Disposition": f'attachment; filename="{backup.uuid}.tar.gz"'},
        content_type="application/octet-stream",
    )


def upload_file(ctx: Ctx) -> Response:
    found = _claims(ctx)
    if isinstance(found, Response):
        return found
    server, _ = found
    directory = ctx.req.query.get("directory") or "/"
    ctype = ctx.req.headers.get("content-type", "")
    boundary = ctype.partition("boundary=")[2].strip('"')
    if not boundary:
        return _wings_error(400, "A multipart body is required.")
    with ctx.state.lock:
        for name, content in _multipart_files(ctx.req.raw_body, boundary):
            path = posixpath.normpath(posixpath.join("/", str(directory), name))
            server.files[path] = st.FileEntry(content)
    return Response(200, b"", content_type="text/plain")


def _multipart_files(body: bytes, boundary: str) -> list[tuple[str, bytes]]:
    out = []
    for part in body.split(b"--" + boundary.encode()):
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        disposition = head.decode("utf-8", "replace")
        if 'filename="' not in disposition:
            continue
        name = disposition.split('filename="', 1)[1].split('"', 1)[0]
        out.append((posixpath.basename(name), content.removesuffix(b"\r\n")))
    return out


# --- the console websocket --------------------------------------------------------------------


def _frame(opcode: int, payload: bytes) -> bytes:
    header = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        header += bytes([n])
    elif n < 65536:
        header += bytes([126]) + n.to_bytes(2, "big")
    else:
        header += bytes([127]) + n.to_bytes(8, "big")
    return header + payload


class _Socket:
    """One websocket connection: frame parsing and sending."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.fragments = bytearray()
        self.fragment_opcode = 0
        self.closed = False

    def send(self, event: str, *args: Any) -> None:
        message: dict[str, Any] = {"event": event}
        if args:
            message["args"] = list(args)
        self.send_raw(1, json.dumps(message).encode())

    def send_raw(self, opcode: int, payload: bytes) -> None:
        if self.closed:
            return
        try:
            self.sock.sendall(_frame(opcode, payload))
        except OSError:
            self.closed = True

    def close(self, code: int = 1000) -> None:
        self.send_raw(8, code.to_bytes(2, "big"))
        self.closed = True

    def read(self, timeout: float) -> list[tuple[int, bytes]]:
        try:
            ready, _, _ = select.select([self.sock], [], [], timeout)
        except (OSError, ValueError):
            self.closed = True
            return []
        if not ready:
            return []
        try:
            data = self.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return []
        self.buffer += data
        return self._frames()

    def _frames(self) -> list[tuple[int, bytes]]:
        out = []
        buf = self.buffer
        while len(buf) >= 2:
            fin, opcode = buf[0] & 0x80, buf[0] & 0x0F
            masked, length, i = buf[1] & 0x80, buf[1] & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    break
                length, i = int.from_bytes(buf[2:4], "big"), 4
            elif length == 127:
                if len(buf) < 10:
                    break
                length, i = int.from_bytes(buf[2:10], "big"), 10
            if length > MAX_FRAME:
                self.close(1009)
                return out
            mask = b""
            if masked:
                if len(buf) < i + 4:
                    break
                mask, i = bytes(buf[i : i + 4]), i + 4
            if len(buf) < i + length:
                break
            payload = bytes(buf[i : i + length])
            del buf[: i + length]
            if mask:
                payload = bytes(b ^ mask[j % 4] for j, b in enumerate(payload))
            if opcode == 0:
                self.fragments += payload
                if fin:
                    out.append((self.fragment_opcode, bytes(self.fragments)))
                    self.fragments.clear()
            elif opcode in (1, 2) and not fin:
                self.fragment_opcode, self.fragments = opcode, bytearray(payload)
            else:
                out.append((opcode, payload))
        return out


def websocket(ctx: Ctx) -> Response:
    """``GET /api/servers/{uuid}/ws`` upgraded to a websocket (status 101 = handled here)."""
    h = ctx.bound["handler"]
    sim, s = ctx.sim, ctx.state
    if sim.switch("wings_down"):
        h.close_connection = True  # as if nothing listened: the connection just drops
        return Response(101)
    with s.lock:
        server = next((x for x in s.servers.values() if x.uuid == ctx.params["uuid"]), None)
    if server is None:
        return _wings_error(404, "The requested resource does not exist on this instance.")
    key = ctx.req.headers.get("sec-websocket-key")
    if ctx.req.headers.get("upgrade", "").lower() != "websocket" or not key:
        return _wings_error(400, "Expected a websocket upgrade request.")
    accept = base64.b64encode(
        hashlib.sha1((key + WS_GUID).encode(), usedforsecurity=False).digest()
    ).decode()
    h.close_connection = True
    try:
        h.wfile.write(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nServer: wings\r\n"
                f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )
        h.wfile.flush()
    except OSError:
        return Response(101)
    _Session(ctx, server, _Socket(h.connection)).run()
    return Response(101)


class _Session:
    def __init__(self, ctx: Ctx, server: st.Server, ws: _Socket) -> None:
        self.ctx, self.server, self.ws = ctx, server, ws
        self.sim, self.state = ctx.sim, ctx.state
        self.claims: dict[str, Any] | None = None
        self.console_at: int | None = None
        self.power_seen: str | None = None
        self.installing_seen: bool | None = None
        self.stats_at = 0.0
        self.warned = False

    def run(self) -> None:
        while not self.ws.closed and not self.sim.stopping.is_set():
            for opcode, payload in self.ws.read(0.2):
                if opcode == 8:
                    self.ws.close()
                    return
                if opcode == 9:
                    self.ws.send_raw(10, payload)
                elif opcode == 1:
                    self._message(payload)
            if self.sim.switch("wings_down"):
                self.ws.close(1011)
                return
            if self.server.id not in self.state.servers:
                self.ws.close(1000)
                return
            self._pump()

    def _allowed(self, permission: str) -> bool:
        perms = (self.claims or {}).get("permissions") or []
        return "*" in perms or permission in perms

    def _message(self, payload: bytes) -> None:
        try:
            message = json.loads(payload.decode("utf-8"))
            event = message.get("event")
            args = message.get("args") or []
        except (ValueError, UnicodeDecodeError, AttributeError):
            return
        if event == "auth":
            self._auth(args[0] if args else "")
            return
        if self.claims is None:
            return  # nothing but auth is accepted before authentication
        with self.state.lock:
            self.state.tick()
            server = self.server
            if event == "send logs":
                for line in server.console[-150:]:
                    self.ws.send("console output", _color(line))
            elif event == "send stats":
                self._stats(force=True)
            elif event == "set state" and args and args[0] in POWER_PERMISSION:
                if not self._allowed(POWER_PERMISSION[args[0]]):
                    self.ws.send(
                        "daemon error", "You do not have permission to perform this action."
                    )
                elif server.status in ("suspended", "installing", "install_failed"):
                    self.ws.send(
                        "daemon error", "The server is not in a state that allows power actions."
                    )
                else:
                    self.state.power(server, args[0])
            elif event == "send command" and args:
                if self._allowed("control.console") and server.power_state == "running":
                    run_command(self.state, server, str(args[0]))

    def _auth(self, token: str) -> None:
        node = self.state.nodes.get(self.server.node_id)
        try:
            claims = verify_jwt(token, node.daemon_token if node else "")
        except JwtError as exc:
            self.ws.send("jwt error", str(exc))
            return
        if claims.get("server_uuid") != self.server.uuid:
            self.ws.send("jwt error", "jwt: server_uuid claim does not match this server")
            return
        perms = claims.get("permissions") or []
        if "*" not in perms and "websocket.connect" not in perms:
            self.ws.send("jwt error", "jwt: token does not allow connecting to the websocket")
            return
        first = self.claims is None
        self.claims, self.warned = claims, False
        self.ws.send("auth success")
        with self.state.lock:
            self.state.tick()
            self.ws.send("status", self.server.power_state)
            if first:
                self.power_seen = self.server.power_state
                self.installing_seen = self.server.status == "installing"
                self.console_at = self.server.console_base + len(self.server.console)

    def _pump(self) -> None:
        if self.claims is None:
            return
        now = time.time()
        exp = float(self.claims.get("exp") or now + 3600)
        if now >= exp:
            self.ws.send("token expired")
            self.claims = None
            return
        if exp - now <= EXPIRY_WARNING and not self.warned:
            self.ws.send("token expiring")
            self.warned = True
        with self.state.lock:
            self.state.tick()
            server = self.server
            end = server.console_base + len(server.console)
            start = max(self.console_at or end, server.console_base)
            for line in server.console[start - server.console_base :]:
                self.ws.send("console output", _color(line))
            self.console_at = end
            if server.power_state != self.power_seen:
                self.power_seen = server.power_state
                self.ws.send("status", server.power_state)
                self._stats(force=True)
            installing = server.status == "installing"
            if self.installing_seen and not installing:
                self.ws.send("install completed")
            elif installing and not self.installing_seen:
                self.ws.send("install started")
            self.installing_seen = installing
            self._stats()

    def _stats(self, force: bool = False) -> None:
        now = time.time()
        server = self.server
        if not force and (server.power_state == "offline" or now - self.stats_at < 1.0):
            return
        self.stats_at = now
        usage = self.state.usage(server)
        stats = {
            "memory_bytes": usage["memory_bytes"],
            "memory_limit_bytes": (server.memory or 0) * 1024 * 1024,
            "cpu_absolute": usage["cpu_absolute"],
            "network": {
                "rx_bytes": usage["network_rx_bytes"],
                "tx_bytes": usage["network_tx_bytes"],
            },
            "uptime": usage["uptime"],
            "state": server.power_state,
            "disk_bytes": usage["disk_bytes"],
        }
        self.ws.send("stats", json.dumps(stats))


def _color(line: str) -> str:
    if line.startswith("[Pterodactyl Daemon]:"):
        return DAEMON_PREFIX + line[len("[Pterodactyl Daemon]:") :]
    return line


def run_command(s: st.State, server: st.Server, command: str) -> None:
    """What the simulated game answers to a console command."""
    server.log(f"> {command}")
    word, _, rest = command.strip().partition(" ")
    word = word.lstrip("/").lower()
    if word == "say":
        server.log(f"[Server thread/INFO]: [Server] {rest}")
    elif word == "list":
        server.log("[Server thread/INFO]: There are 0 of a max of 20 players online: ")
    elif word == "help":
        server.log(
            "[Server thread/INFO]: --------- Help: Index ---------",
            "[Server thread/INFO]: Use /help [n] to get page n of help.",
        )
    elif word in ("stop", "quit", "end"):
        s.power(server, "stop")
    else:
        server.log('[Server thread/INFO]: Unknown command. Type "/help" for help.')
