"""A scripted origin server for the proxy integration tests.

Standard library only. One Backend listens on 127.0.0.1 (a kernel-chosen port), accepts
connections in a daemon thread and serves each connection in its own daemon thread. It
parses request heads and bodies itself (Content-Length or chunked), so it handles
keep-alive, and it records everything it received:

    b.requests      [Request]  in arrival order (.raw .method .target .version .headers
                               .body .trailers .chunked .conn_id .index; .header(name))
    b.connections   [Conn]     every accepted connection (.id .raw .closed .peer)
    b.errors        [str]      handler exceptions and unparsable requests

Each request is answered by b.handler(req), which may return
    None        the default answer: 200, body b"NAME METHOD TARGET", X-Backend: NAME
    bytes       sent as they are (any malformed response); the connection is kept
                open only if the request allows keep-alive and the bytes do not say
                "Connection: close" (use send(data, keep=...) to decide yourself)
    an Action   send(data, keep=None), close(), reset(), hang(), slow(pieces, delay),
                tunnel(head), custom(fn)
response(...) builds well-formed response bytes.

Backend(..., ssl_context=ctx) speaks TLS (ctx: a server-side ssl.SSLContext; make it
require a client certificate with ctx.verify_mode = ssl.CERT_REQUIRED). Each
connection's TLS facts are in conn.tls (a TLSInfo: .sni .version .cipher .reused
.alpn .peer_cert); handshakes that failed are in b.tls_errors, not b.errors.

Blackhole() is a port whose connects hang; dead_port() one whose connects are refused.
Backends(...) is a context manager that starts backends on demand (bs.new(...)) and
stops all of them on exit; the test files wrap it in a pytest fixture.
"""

import socket
import struct
import threading
import time

HOST = "127.0.0.1"
IDLE_TIMEOUT = 20.0     # an idle backend connection is closed after this
HANG_LIMIT = 60.0       # hang() never holds a connection longer than this
ACCEPT_POLL = 0.1

REASONS = {100: "Continue", 101: "Switching Protocols", 200: "OK", 204: "No Content",
           301: "Moved Permanently", 302: "Found", 304: "Not Modified",
           400: "Bad Request", 404: "Not Found", 500: "Internal Server Error",
           502: "Bad Gateway", 503: "Service Unavailable"}


# ---------------------------------------------------------------------------
# building responses


def response(status=200, body=b"", headers=(), reason=None, version="HTTP/1.1",
             length=True, chunked=False):
    """Response bytes. headers: list of (name, value) pairs or a dict, sent in order.

    length=True adds Content-Length (unless chunked or already given); chunked=True
    adds Transfer-Encoding: chunked and encodes body (bytes, or a list of chunks).
    """
    if isinstance(headers, dict):
        headers = list(headers.items())
    names = {k.lower() for k, _ in headers}
    if isinstance(body, str):
        body = body.encode()
    head = ["%s %d %s" % (version, status, REASONS.get(status, "Status") if reason is None
                          else reason)]
    head += ["%s: %s" % (k, v) for k, v in headers]
    if chunked:
        if "transfer-encoding" not in names:
            head.append("Transfer-Encoding: chunked")
        pieces = body if isinstance(body, list) else [body]
        body = b"".join(chunk(p) for p in pieces if p) + b"0\r\n\r\n"
    elif length and "content-length" not in names:
        head.append("Content-Length: %d" % len(body))
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def chunk(data):
    """One chunk of a chunked body."""
    if isinstance(data, str):
        data = data.encode()
    return b"%x\r\n%s\r\n" % (len(data), data)


# ---------------------------------------------------------------------------
# actions a handler may return


class Action:
    """Base class: what to do with a connection instead of (or besides) sending bytes."""

    keep = False

    def run(self, backend, conn, req):
        """Perform the action; return True to keep serving the connection."""
        raise NotImplementedError


class send(Action):
    """Send data; keep=True/False forces keep-alive on/off, None decides as for bytes."""

    def __init__(self, data, keep=None):
        self.data = data.encode() if isinstance(data, str) else data
        self.keep = keep

    def run(self, backend, conn, req):
        conn.sock.sendall(self.data)
        if self.keep is None:
            return _may_keep(req, self.data)
        return self.keep


class close(Action):
    """Close the connection (FIN) without answering."""

    def run(self, backend, conn, req):
        return False


class reset(Action):
    """Close with SO_LINGER 0: the peer gets an RST."""

    def run(self, backend, conn, req):
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return False


class hang(Action):
    """Never answer; the connection is closed when the backend stops (or after 60 s)."""

    def run(self, backend, conn, req):
        backend._stopping.wait(HANG_LIMIT)
        return False


class slow(Action):
    """Send pieces (a list of bytes) with `delay` seconds before each piece after the
    first; keep as for send()."""

    def __init__(self, pieces, delay=0.2, keep=False):
        self.pieces = [p.encode() if isinstance(p, str) else p for p in pieces]
        self.delay = delay
        self.keep = keep

    def run(self, backend, conn, req):
        for i, piece in enumerate(self.pieces):
            if i and backend._stopping.wait(self.delay):
                return False
            conn.sock.sendall(piece)
        if self.keep is None:
            return _may_keep(req, b"".join(self.pieces))
        return self.keep


class tunnel(Action):
    """Send head (e.g. a 101 response), then echo every byte received until the peer
    closes. Bytes received in the tunnel are appended to req.tunnel; a received
    `close_on` marker makes the backend close its side first."""

    def __init__(self, head, close_on=None):
        self.head = head
        self.close_on = close_on

    def run(self, backend, conn, req):
        conn.sock.sendall(self.head)
        pending, conn.pending = conn.pending, b""
        while True:
            data = pending or _recv(conn.sock, backend)
            pending = b""
            if not data:
                return False
            conn.raw += data
            req.tunnel += data
            if self.close_on is not None and self.close_on in req.tunnel:
                return False
            conn.sock.sendall(data)


class custom(Action):
    """Call fn(sock, req); its truthy return value keeps the connection for the next
    request."""

    def __init__(self, fn):
        self.fn = fn

    def run(self, backend, conn, req):
        return bool(self.fn(conn.sock, req))


# ---------------------------------------------------------------------------
# records


class Request:
    """One request as the backend received it."""

    def __init__(self, conn_id, index):
        self.conn_id = conn_id      # which connection (Conn.id) it arrived on
        self.index = index          # 0 for the first request on that connection
        self.raw = b""              # exact bytes: head and body as on the wire
        self.head = b""
        self.method = self.target = self.version = ""
        self.headers = []           # [(name, value)] in order, names as sent
        self.body = b""             # decoded if chunked
        self.trailers = []
        self.chunked = False
        self.tunnel = b""           # bytes received after a tunnel() answer
        self.time = time.monotonic()

    def header(self, name):
        """First value of header `name` (case-insensitive), or None."""
        vals = self.header_all(name)
        return vals[0] if vals else None

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    @property
    def path(self):
        return self.target.split("?", 1)[0]

    def __repr__(self):
        return "<Request %s %s %s conn=%d body=%d>" % (
            self.method, self.target, self.version, self.conn_id, len(self.body))


class Conn:
    """One accepted connection."""

    def __init__(self, cid, sock, peer):
        self.id = cid
        self.sock = sock
        self.peer = peer
        self.raw = b""              # every byte received on it (plaintext with TLS)
        self.pending = b""          # received, not yet consumed by the parser
        self.closed = threading.Event()
        self.tls = None             # TLSInfo once a TLS handshake has completed


class TLSInfo:
    """What a TLS backend saw in one handshake."""

    def __init__(self, sock):
        self.sni = getattr(sock, "ptc_sni", None)   # server name the client sent, or None
        self.version = sock.version()               # "TLSv1.2", "TLSv1.3"
        self.cipher = sock.cipher()[0]
        self.reused = sock.session_reused           # True: an abbreviated handshake
        self.alpn = sock.selected_alpn_protocol()
        self.peer_cert = sock.getpeercert(binary_form=True)  # client cert DER, or None

    def __repr__(self):
        return "<TLSInfo %s %s sni=%r reused=%s cert=%s>" % (
            self.version, self.cipher, self.sni, self.reused, self.peer_cert is not None)


class BadRequest(Exception):
    pass


# ---------------------------------------------------------------------------
# parsing


def _recv(sock, backend):
    try:
        return sock.recv(65536)
    except (socket.timeout, OSError):
        return b""


def _fill(conn, backend, need_marker=None, need_len=None):
    """Read until conn.pending contains need_marker / holds need_len bytes.
    Returns False on EOF or error first."""
    while True:
        if need_marker is not None and need_marker in conn.pending:
            return True
        if need_len is not None and len(conn.pending) >= need_len:
            return True
        data = _recv(conn.sock, backend)
        if not data:
            return False
        conn.raw += data
        conn.pending += data


def _take(conn, n):
    out, conn.pending = conn.pending[:n], conn.pending[n:]
    return out


def _read_head(conn, backend, req):
    if not _fill(conn, backend, need_marker=b"\r\n\r\n"):
        if conn.pending:
            raise BadRequest("connection closed inside a request head: %r" % conn.pending[:200])
        return False
    end = conn.pending.index(b"\r\n\r\n") + 4
    req.head = _take(conn, end)
    lines = req.head[:-4].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise BadRequest("bad request line %r" % lines[0])
    req.method, req.target, req.version = parts
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest("bad header line %r" % line)
        req.headers.append((name, value.strip(" \t")))
    return True


def _read_line(conn, backend):
    if not _fill(conn, backend, need_marker=b"\r\n"):
        raise BadRequest("connection closed inside a chunked body")
    end = conn.pending.index(b"\r\n") + 2
    return _take(conn, end)


def _read_chunked(conn, backend, req):
    raw, body = [], []
    while True:
        line = _read_line(conn, backend)
        raw.append(line)
        size = int(line.split(b";")[0].strip(), 16)
        if size == 0:
            break
        if not _fill(conn, backend, need_len=size + 2):
            raise BadRequest("connection closed inside chunk data")
        data = _take(conn, size + 2)
        raw.append(data)
        body.append(data[:size])
    while True:
        line = _read_line(conn, backend)
        raw.append(line)
        if line == b"\r\n":
            break
        name, _, value = line.decode("latin-1").partition(":")
        req.trailers.append((name, value.strip()))
    req.chunked = True
    req.body = b"".join(body)
    return b"".join(raw)


def _read_body(conn, backend, req):
    te = (req.header("Transfer-Encoding") or "").lower()
    if "chunked" in te:
        return _read_chunked(conn, backend, req)
    cl = req.header("Content-Length")
    if cl is None:
        return b""
    n = int(cl)
    if not _fill(conn, backend, need_len=n):
        raise BadRequest("connection closed inside a %d-byte body" % n)
    req.body = _take(conn, n)
    return req.body


def _wants_keepalive(req):
    tokens = [t.strip().lower() for v in req.header_all("Connection") for t in v.split(",")]
    if req.version == "HTTP/1.1":
        return "close" not in tokens
    return "keep-alive" in tokens


def _may_keep(req, data):
    head = data.split(b"\r\n\r\n", 1)[0].lower()
    return _wants_keepalive(req) and b"\r\nconnection: close" not in head


# ---------------------------------------------------------------------------
# the server


class Backend:
    """A scripted origin on 127.0.0.1 (see the module docstring)."""

    def __init__(self, handler=None, name=None, rcvbuf=None, silent=False, backlog=128,
                 ssl_context=None):
        """handler(req) -> None | bytes | Action; name defaults to "b<port>".
        rcvbuf: SO_RCVBUF for accepted sockets; silent=True: accept connections
        and never read or answer (for send-timeout tests); ssl_context: a server-side
        ssl.SSLContext, every connection starts with a TLS handshake (its SNI
        callback is replaced by one that records the name)."""
        self.handler = handler
        self.silent = silent
        self.ssl_context = ssl_context
        if ssl_context is not None:
            ssl_context.sni_callback = _record_sni
        self.requests = []
        self.connections = []
        self.errors = []
        self.tls_errors = []        # [str] failed TLS handshakes
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self._listener.bind((HOST, 0))
        self._listener.listen(backlog)
        self._listener.settimeout(ACCEPT_POLL)
        self.port = self._listener.getsockname()[1]
        self.addr = "%s:%d" % (HOST, self.port)
        self.name = name or "b%d" % self.port
        self._listening = True
        self._thread = threading.Thread(target=self._accept_loop, daemon=True,
                                        name="backend-%s" % self.name)
        self._thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop(close_conns=True)

    def __repr__(self):
        return "<Backend %s %s>" % (self.name, self.addr)

    # --- control -------------------------------------------------------------

    def stop(self, close_conns=True):
        """Close the listener (new connects are refused); with close_conns also end
        every open connection (hang() and slow() return at once)."""
        if self._listening:
            self._listening = False
            self._thread.join(5)
            self._listener.close()
        if close_conns:
            self._stopping.set()
            with self._lock:
                conns = list(self.connections)
            for conn in conns:
                _shutdown(conn.sock)

    def wait_requests(self, n, timeout=5.0):
        """Wait until at least n requests have been recorded; True if they have."""
        deadline = time.monotonic() + timeout
        while len(self.requests) < n:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    @property
    def targets(self):
        return [r.target for r in self.requests]

    # --- internals -----------------------------------------------------------

    def _accept_loop(self):
        while self._listening:
            try:
                sock, peer = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                conn = Conn(len(self.connections), sock, peer)
                self.connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True,
                             name="backend-%s-c%d" % (self.name, conn.id)).start()

    def _serve(self, conn):
        conn.sock.settimeout(IDLE_TIMEOUT)
        if self.ssl_context is not None and not self._tls_handshake(conn):
            return
        try:
            if self.silent:
                self._stopping.wait(HANG_LIMIT)
                return
            index = 0
            while not self._stopping.is_set():
                if not self._serve_one(conn, index):
                    return
                index += 1
        except BadRequest as e:
            self.errors.append("conn %d: %s" % (conn.id, e))
        except OSError:
            pass        # the proxy went away while we were sending
        except Exception as e:  # a broken handler must not hang the test
            self.errors.append("conn %d: handler raised %r" % (conn.id, e))
        finally:
            conn.sock.close()
            conn.closed.set()

    def _tls_handshake(self, conn):
        """Replace conn.sock by its TLS wrapper; False (connection closed, failure
        recorded) if the handshake fails."""
        try:
            conn.sock = self.ssl_context.wrap_socket(conn.sock, server_side=True)
            conn.tls = TLSInfo(conn.sock)
            return True
        except (OSError, ValueError) as e:
            self.tls_errors.append("conn %d: %r" % (conn.id, e))
            conn.sock.close()
            conn.closed.set()
            return False

    def _serve_one(self, conn, index):
        req = Request(conn.id, index)
        if not _read_head(conn, self, req):
            return False
        req.raw = req.head + _read_body(conn, self, req)
        with self._lock:
            self.requests.append(req)
        answer = self.handler(req) if self.handler else None
        if answer is None:
            answer = self.default_response(req)
        if isinstance(answer, (bytes, bytearray)):
            answer = send(bytes(answer))
        return answer.run(self, conn, req)

    def default_response(self, req):
        body = ("%s %s %s" % (self.name, req.method, req.target)).encode()
        resp = response(200, body, [("X-Backend", self.name),
                                    ("X-Backend-Host", req.header("Host") or "")])
        if req.method == "HEAD":
            resp = resp[:resp.index(b"\r\n\r\n") + 4]
        return resp


def _record_sni(sslsock, server_name, ctx):
    """SNI callback: remember the name on the TLS socket (read by TLSInfo)."""
    try:
        sslsock.ptc_sni = server_name
    except AttributeError:
        pass
    return None


def _shutdown(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class Backends:
    """Start any number of Backends; stop them all on exit."""

    def __init__(self):
        self.all = []

    def new(self, handler=None, name=None, **kw):
        b = Backend(handler, name=name, **kw)
        self.all.append(b)
        return b

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for b in self.all:
            b.stop(close_conns=True)


class Blackhole:
    """A loopback port whose accept queue is full and never drained: new connects to it
    hang (the kernel drops their SYNs). Check .hangs before relying on it."""

    def __init__(self):
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((HOST, 0))
        self._listener.listen(0)
        self.port = self._listener.getsockname()[1]
        self.addr = "%s:%d" % (HOST, self.port)
        self._fillers = []
        self.hangs = False
        for _ in range(8):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect((HOST, self.port))
            except BlockingIOError:
                pass
            self._fillers.append(c)
            if self._probe():
                self.hangs = True
                break

    def _probe(self):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.settimeout(0.3)
        try:
            c.connect((HOST, self.port))
        except socket.timeout:
            return True
        except OSError:
            return False
        finally:
            c.close()
        return False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for c in self._fillers:
            c.close()
        self._listener.close()


def dead_port():
    """A loopback port with nothing listening on it (connects are refused)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port
