"""The TLS transport under stress: how bytes are cut on the wire (a ClientHello one
byte at a time, requests in many tiny records, pipelined requests in one record),
large responses to clients that read slowly (OpenSSL's write retries), request
bodies and tunnels over TLS, broken and stalling clients, plain HTTP and the PROXY
protocol on a TLS port, and TLS connections across graceful quit and reload.

Clients are Python's ssl module; byte-level control comes from an SSLObject over
memory BIOs (TLSPipe), so a test decides exactly which bytes go into which write
and which record. A throwaway certificate is made with the openssl CLI."""
import hashlib
import os
import random
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time

import pytest

from backend import Backends, custom, response, tunnel
from conftest import read_response, wait_for

SERVER = ("listen 127.0.0.1:%PORT% ssl; ssl_certificate io.crt; "
          "ssl_certificate_key io.key; ssl_protocols TLSv1.2 TLSv1.3; ")
BIG = 6 * 1024 * 1024


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("iocert")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(d / "k.pem"),
                    "-out", str(d / "c.pem"), "-days", "2", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    return {"conf/io.crt": (d / "c.pem").read_text(), "conf/io.key": (d / "k.pem").read_text()}


@pytest.fixture(scope="module")
def big_body():
    return random.Random(7).randbytes(BIG)


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


def start(ptc, cert, server, http="", files=None, **kw):
    """A server block listening with TLS on %PORT%, plus `http` text before it."""
    return ptc.start(http + " server { " + SERVER + server + " }",
                     files={**cert, **(files or {})}, **kw)


def client_ctx(tls12=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    # some Python builds ignore a missing close_notify by default: report it
    ctx.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def tls_connect(port, rcvbuf=None, tls12=False, timeout=10.0):
    """A TLS socket that reports a missing close_notify (SSLEOFError)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return client_ctx(tls12).wrap_socket(s, server_hostname="localhost",
                                         suppress_ragged_eofs=False)


def tls_get(port, path="/", headers="", timeout=10.0):
    t = tls_connect(port, timeout=timeout)
    try:
        t.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\n%sConnection: close\r\n\r\n"
                   % (path, headers)).encode())
        return read_response(t, timeout=timeout)
    finally:
        t.close()


def read_to_close(t, timeout=10.0):
    """Everything up to a clean TLS close (close_notify); an SSLError for an EOF
    without close_notify."""
    t.settimeout(timeout)
    data = b""
    while True:
        chunk = t.recv(65536)
        if not chunk:
            return data
        data += chunk


def sha(data):
    return hashlib.sha256(data).hexdigest()


def read_body_slowly(t, size, stall=0.3, piece=16384, timeout=60.0, data=b""):
    """Read a response head and `size` body bytes after an initial stall, in small
    reads with short pauses: the server meets a full socket many times. `data`:
    bytes of the response already read."""
    time.sleep(stall)
    t.settimeout(10)
    deadline = time.monotonic() + timeout
    n = 0
    while True:
        end = data.find(b"\r\n\r\n")
        if end != -1 and len(data) - end - 4 >= size:
            return data[:end + 4], data[end + 4:]
        assert time.monotonic() < deadline, "slow read did not finish: %d bytes" % len(data)
        chunk = t.recv(piece)
        assert chunk, "closed after %d bytes" % len(data)
        data += chunk
        n += 1
        if n % 8 == 0:
            time.sleep(0.002)


def closed_by_peer(sock, timeout):
    """True when the peer closes (FIN or RST, possibly after an alert) within timeout."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not sock.recv(4096):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


def worker_pid(srv):
    """The one worker's pid (the port may answer before the worker is forked)."""
    assert wait_for(lambda: len(srv.worker_pids()) == 1, 10), srv.worker_pids()
    return srv.worker_pids()[0]


class TLSPipe:
    """A TLS client whose wire bytes the test controls: an SSLObject over memory
    BIOs on a plain socket. recv()/settimeout() make it usable with read_response."""

    def __init__(self, port, tls12=False, prefix=b""):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = client_ctx(tls12).wrap_bio(self.incoming, self.outgoing,
                                              server_hostname="localhost")
        self.prefix = prefix    # sent in front of the first TLS bytes (PROXY header)

    def close(self):
        self.sock.close()

    def settimeout(self, t):
        self.sock.settimeout(t)

    def send_raw(self, data, piece=None, delay=0.0):
        data, self.prefix = self.prefix + data, b""
        if piece is None:
            self.sock.sendall(data)
            return
        for i in range(0, len(data), piece):
            self.sock.sendall(data[i:i + piece])
            if delay:
                time.sleep(delay)

    def first_flight(self):
        """The ClientHello bytes (not sent)."""
        try:
            self.obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        return self.outgoing.read()

    def handshake(self, piece=None, delay=0.0, hello=None):
        """Complete the handshake; client bytes go out `piece` bytes per write."""
        if hello is not None:
            self.send_raw(hello, piece, delay)
        while True:
            try:
                self.obj.do_handshake()
                done = True
            except ssl.SSLWantReadError:
                done = False
            out = self.outgoing.read()
            if out:
                self.send_raw(out, piece, delay)
            if done:
                return
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed during the handshake")
            self.incoming.write(data)

    def drain(self, quiet=0.2):
        """Take what the server sent (TLS 1.3 session tickets) off the socket, so
        that close() sends a FIN, not a reset for unread data."""
        self.sock.settimeout(quiet)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.incoming.write(data)
        except socket.timeout:
            pass
        self.sock.settimeout(10)

    def records(self, data, size=16384):
        """Encrypt data as records of at most `size` bytes; returns the wire bytes."""
        for i in range(0, len(data), size):
            self.obj.write(data[i:i + size])
        return self.outgoing.read()

    def send(self, data, size=16384):
        self.send_raw(self.records(data, size))

    def recv(self, n=65536):
        while True:
            try:
                return self.obj.read(n)
            except ssl.SSLWantReadError:
                data = self.sock.recv(65536)
                if not data:
                    return b""
                self.incoming.write(data)
            except ssl.SSLZeroReturnError:
                return b""


# ---------------------------------------------------------------------------
# how the bytes are cut


@pytest.mark.parametrize("tls12", [False, True], ids=["tls13", "tls12"])
def test_client_hello_one_byte_at_a_time(ptc, cert, tls12):
    srv = start(ptc, cert, 'location / { return 200 "ok $ssl_protocol"; }')
    p = TLSPipe(srv.port, tls12=tls12)
    hello = p.first_flight()
    assert 100 < len(hello) < 2048
    p.handshake(piece=1, delay=0.001, hello=hello)
    p.send(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    r = read_response(p)
    p.close()
    assert r.status == 200 and r.body == (b"ok TLSv1.2" if tls12 else b"ok TLSv1.3")


@pytest.mark.parametrize("piece", [None, 7])
def test_request_in_one_byte_records(ptc, cert, piece):
    """A 3 KB head (past client_header_buffer_size) sent as one-byte records: about
    70 KB of TLS on the wire, in one write or in 7-byte TCP writes."""
    srv = start(ptc, cert, 'location / { return 200 "$uri $http_x_long"; }')
    p = TLSPipe(srv.port)
    p.handshake()
    long_value = "v" * 3000
    req = ("GET /tiny HTTP/1.1\r\nHost: localhost\r\nX-Long: %s\r\nConnection: close\r\n\r\n"
           % long_value).encode()
    wire = p.records(req, size=1)
    assert len(wire) > 20 * len(req)
    p.send_raw(wire, piece=piece)
    r = read_response(p, timeout=20)
    p.close()
    assert r.status == 200 and r.body == ("/tiny " + long_value).encode()


def test_pipelined_requests_in_one_record(ptc, cert):
    srv = start(ptc, cert, 'location / { return 200 "$uri $connection_requests"; }')
    p = TLSPipe(srv.port)
    p.handshake()
    reqs = b"".join(b"GET /p%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % i for i in range(5))
    reqs += b"GET /last HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    wire = p.records(reqs)
    assert wire[0] == 0x17 and struct.unpack(">H", wire[3:5])[0] == len(wire) - 5, \
        "one record"
    p.send_raw(wire)
    bodies = [read_response(p).body for _ in range(6)]
    p.close()
    assert bodies == [b"/p%d %d" % (i, i + 1) for i in range(5)] + [b"/last 6"]


def test_one_hundred_requests_on_one_connection(ptc, cert):
    srv = start(ptc, cert, 'location / { return 200 "$uri $connection_requests"; }')
    t = tls_connect(srv.port)
    for i in range(1, 101):
        conn = "close" if i == 100 else "keep-alive"
        t.sendall(b"GET /k%d HTTP/1.1\r\nHost: localhost\r\nConnection: %s\r\n\r\n"
                  % (i, conn.encode()))
        r = read_response(t)
        assert r.status == 200 and r.body == b"/k%d %d" % (i, i)
    assert read_to_close(t) == b"", "a clean close_notify after the last response"
    t.close()


# ---------------------------------------------------------------------------
# large responses to slow readers: SSL_write meets a full socket


@pytest.mark.parametrize("sendfile", ["on", "off"])
def test_large_static_file_to_a_slow_reader(ptc, cert, big_body, sendfile):
    srv = start(ptc, cert, "sendfile %s; sendfile_max_chunk 64k; location / { root html; }"
                % sendfile, files={"html/big.bin": big_body})
    t = tls_connect(srv.port, rcvbuf=8192)
    t.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    head, body = read_body_slowly(t, BIG)
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"\r\nContent-Length: %d\r\n" % BIG in head
    assert len(body) == BIG and sha(body) == sha(big_body)
    assert read_to_close(t) == b""
    t.close()


def big_origin(body, done=None):
    def send(sock, req):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
        try:
            sock.sendall(body)
            if done is not None:
                done.set()
        except OSError:
            pass
        return True
    return lambda req: custom(send)


@pytest.mark.needs_module("http_proxy")
@pytest.mark.parametrize("buffering", [
    "proxy_buffers 4 4k; proxy_max_temp_file_size 1024m;",     # spooled to a temp file
    "proxy_buffers 4 4k; proxy_max_temp_file_size 0;",         # upstream waits
    "proxy_buffering off;",
])
def test_large_proxied_response_to_a_slow_reader(ptc, cert, backends, big_body, buffering):
    done = threading.Event()
    b = backends.new(big_origin(big_body, done))
    srv = start(ptc, cert, "location / { proxy_pass http://%s; %s }" % (b.addr, buffering))
    t = tls_connect(srv.port, rcvbuf=8192)
    t.sendall(b"GET /big HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    if "1024m" in buffering:
        assert done.wait(15), "the temp file takes what the client does not read yet"
    head, body = read_body_slowly(t, BIG)
    assert head.startswith(b"HTTP/1.1 200 ")
    assert len(body) == BIG and sha(body) == sha(big_body)
    assert read_to_close(t) == b""
    t.close()


# ---------------------------------------------------------------------------
# request bodies over TLS


def body_server(ptc, cert, b, extra=""):
    return start(ptc, cert, "client_body_buffer_size 16k; client_max_body_size 20m; "
                 "location / { proxy_pass http://%s; %s }" % (b.addr, extra))


def chunked(data, sizes=(1, 100, 4095, 16384, 70000)):
    out, i, k = [], 0, 0
    while i < len(data):
        n = sizes[k % len(sizes)]
        out.append(b"%x\r\n%s\r\n" % (len(data[i:i + n]), data[i:i + n]))
        i += n
        k += 1
    return b"".join(out) + b"0\r\n\r\n"


@pytest.mark.needs_module("http_proxy")
@pytest.mark.parametrize("framing", ["length", "chunked"])
@pytest.mark.parametrize("extra", ["", "proxy_request_buffering off; proxy_http_version 1.1;"])
def test_request_body_proxied_byte_exact(ptc, cert, backends, framing, extra):
    b = backends.new()
    srv = body_server(ptc, cert, b, extra)
    body = random.Random(11).randbytes(3 * 1024 * 1024 + 17)
    if framing == "length":
        head = b"Content-Length: %d\r\n" % len(body)
        wire = body
    else:
        head = b"Transfer-Encoding: chunked\r\n"
        wire = chunked(body)
    t = tls_connect(srv.port)
    t.sendall(b"POST /upload HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
              + head + b"\r\n")
    for i in range(0, len(wire), 100000):   # many records, several socket buffers
        t.sendall(wire[i:i + 100000])
    r = read_response(t, timeout=30)
    t.close()
    assert r.status == 200
    assert len(b.requests) == 1
    got = b.requests[0].body
    assert len(got) == len(body) and sha(got) == sha(body)


@pytest.mark.needs_module("http_proxy")
def test_client_closes_without_close_notify_mid_body(ptc, cert, backends):
    b = backends.new()
    srv = body_server(ptc, cert, b)
    pid = worker_pid(srv)
    p = TLSPipe(srv.port)
    p.handshake()
    p.send(b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n"
           + b"x" * 50000)
    p.drain()
    p.close()                   # TCP FIN, no close_notify
    assert wait_for(lambda: " 400 " in srv.access_log(), 5), srv.access_log()
    assert b.requests == [], "a buffered body that never completed is not forwarded"
    assert tls_get(srv.port).status == 200
    assert worker_pid(srv) == pid


def test_client_closes_without_close_notify_mid_head(ptc, cert):
    srv = start(ptc, cert, 'location / { return 200 "fine"; }')
    pid = worker_pid(srv)
    p = TLSPipe(srv.port)
    p.handshake()
    p.send(b"GET / HTTP/1.1\r\nHost: loc")
    p.drain()
    p.close()                   # TCP FIN, no close_notify
    r = tls_get(srv.port)
    assert r.status == 200 and r.body == b"fine"
    assert worker_pid(srv) == pid


def test_client_resets_mid_response(ptc, cert, big_body):
    srv = start(ptc, cert, "location / { root html; }", files={"html/big.bin": big_body})
    pid = worker_pid(srv)
    t = tls_connect(srv.port, rcvbuf=8192)
    t.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
    got = 0
    while got < 200000:
        got += len(t.recv(65536))
    t.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    t.close()                   # no close_notify; RST with unread data in flight
    assert wait_for(lambda: "/big.bin" in srv.access_log(), 10)
    r = tls_get(srv.port, "/big.bin")
    assert r.status == 200 and sha(r.body) == sha(big_body)
    assert worker_pid(srv) == pid


# ---------------------------------------------------------------------------
# clients that stall or send garbage


@pytest.mark.parametrize("stage", ["nothing", "part_of_hello", "no_finished"])
def test_stalled_handshake_closed_after_client_header_timeout(ptc, cert, stage):
    srv = start(ptc, cert, "client_header_timeout 1s; location / { return 200; }")
    p = TLSPipe(srv.port)
    hello = p.first_flight()
    if stage == "part_of_hello":
        p.send_raw(hello[:20])
    elif stage == "no_finished":
        p.send_raw(hello)       # the server answers, the client never finishes
    t0 = time.monotonic()
    assert closed_by_peer(p.sock, 6), "still open 6 s after a 1 s client_header_timeout"
    assert 0.7 <= time.monotonic() - t0 < 5
    p.close()
    assert tls_get(srv.port).status == 200


@pytest.mark.parametrize("garbage", [
    b"\x16" + b"junk" * 100,
    b"\x16\x03\x01\x00\x30" + bytes(range(48)),
    b"\x16\x03\x01\xff\xff" + random.Random(3).randbytes(3000),
    b"\x80" + random.Random(4).randbytes(200),
], ids=["junk", "short_record", "long_record", "sslv2"])
def test_garbage_after_handshake_byte_closes_connection(ptc, cert, garbage):
    srv = start(ptc, cert, 'location / { return 200 "alive"; }')
    if srv.name == "nginx":
        srv.allow_log_errors()  # nginx 1.22 logs "packet length too long" at crit
    pid = worker_pid(srv)
    s = srv.connect()
    try:
        s.sendall(garbage)
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert closed_by_peer(s, 5)
    s.close()
    r = tls_get(srv.port)
    assert r.status == 200 and r.body == b"alive"
    assert worker_pid(srv) == pid


def test_garbage_mid_connection_closes_connection(ptc, cert):
    """Valid TLS, then bytes that are not a record."""
    srv = start(ptc, cert, 'location / { return 200 "alive"; }')
    pid = worker_pid(srv)
    p = TLSPipe(srv.port)
    p.handshake()
    p.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert read_response(p).body == b"alive"
    p.send_raw(random.Random(5).randbytes(5000))
    assert closed_by_peer(p.sock, 5)
    p.close()
    assert tls_get(srv.port).body == b"alive"
    assert worker_pid(srv) == pid


def test_random_bytes_on_tls_port_are_a_bad_request(ptc, cert):
    """Not a TLS record: read as (broken) plain HTTP, answered and closed."""
    srv = start(ptc, cert, 'location / { return 200 "alive"; }')
    data = b"\x01\x02" + random.Random(6).randbytes(300).replace(b"\n", b"?")
    out = srv.raw(data + b"\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 ")
    assert tls_get(srv.port).body == b"alive"


# ---------------------------------------------------------------------------
# plain HTTP on a TLS port


def test_plain_http_to_tls_port_is_400(ptc, cert):
    srv = start(ptc, cert, 'location / { return 200 "tls only"; }')
    r = srv.get("/x")
    assert r.status == 400
    assert b"The plain HTTP request was sent to HTTPS port" in r.body
    assert r.header("Connection") == "close"


def test_error_page_497_redirects_to_https(ptc, cert):
    srv = start(ptc, cert, "error_page 497 https://$host:$server_port$request_uri; "
                'location / { return 200 "tls only"; }')
    r = srv.get("/path/x?a=1", host="example.test")
    assert r.status == 302
    assert r.header("Location") == "https://example.test:%d/path/x?a=1" % srv.port
    assert tls_get(srv.port).body == b"tls only"


# ---------------------------------------------------------------------------
# PROXY protocol ahead of TLS


PP = b"PROXY TCP4 192.0.2.7 127.0.0.1 5555 443\r\n"


@pytest.mark.parametrize("how", [
    "with_hello", "alone_first",
    # nginx 1.22 wants the whole PROXY header in its first read and resets
    pytest.param("split", marks=pytest.mark.portico_only)])
def test_proxy_protocol_then_tls(ptc, cert, how):
    srv = ptc.start("server { listen 127.0.0.1:%PORT% ssl proxy_protocol; "
                    "ssl_certificate io.crt; ssl_certificate_key io.key; "
                    'location / { return 200 "$proxy_protocol_addr $proxy_protocol_port '
                    '$remote_addr $https"; } }', files=cert)
    p = TLSPipe(srv.port)
    if how == "with_hello":
        p.prefix = PP
        p.handshake()
    else:
        if how == "alone_first":
            p.send_raw(PP)
        else:
            p.send_raw(PP[:9])
            time.sleep(0.1)
            p.send_raw(PP[9:])
        time.sleep(0.1)
        p.handshake()
    p.send(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    r = read_response(p)
    p.close()
    assert r.status == 200 and r.body == b"192.0.2.7 5555 127.0.0.1 on"


def test_tls_without_proxy_header_is_closed(ptc, cert):
    srv = ptc.start("server { listen 127.0.0.1:%PORT% ssl proxy_protocol; "
                    "ssl_certificate io.crt; ssl_certificate_key io.key; "
                    "location / { return 200; } }", files=cert)
    p = TLSPipe(srv.port)
    p.send_raw(p.first_flight())
    assert closed_by_peer(p.sock, 5)
    p.close()
    assert "broken header" in srv.error_log()


# ---------------------------------------------------------------------------
# WebSocket through a TLS listener


@pytest.mark.needs_module("http_proxy")
def test_websocket_tunnel_over_tls(ptc, cert, backends):
    def handler(req):
        if (req.header("Upgrade") or "").lower() != "websocket":
            return None
        return tunnel(response(101, headers=[("Upgrade", "websocket"),
                                             ("Connection", "Upgrade")], length=False))
    b = backends.new(handler)
    srv = start(ptc, cert, "location /ws { proxy_pass http://%s; proxy_http_version 1.1; "
                "proxy_set_header Upgrade $http_upgrade; "
                'proxy_set_header Connection "upgrade"; }' % b.addr)
    t = tls_connect(srv.port)
    t.sendall(b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\n\r\n")
    r = read_response(t)
    assert r.status == 101
    sent = b""
    for payload in (b"hello", random.Random(8).randbytes(300000), b"x" * 16384):
        t.sendall(payload)
        sent += payload
        got = b""
        while len(got) < len(payload):
            chunk = t.recv(65536)
            assert chunk, "tunnel closed"
            got += chunk
        assert got == payload
    t.close()
    assert b.connections[0].closed.wait(5)
    assert b.requests[0].tunnel == sent


# ---------------------------------------------------------------------------
# TLS clients across quit and reload


def test_graceful_quit_completes_a_tls_download(ptc, cert, big_body):
    srv = start(ptc, cert, "location / { root html; }", files={"html/big.bin": big_body})
    t = tls_connect(srv.port, rcvbuf=8192)
    t.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
    first = t.recv(65536)
    assert first.startswith(b"HTTP/1.1 200 ")
    srv.signal(signal.SIGQUIT)
    head, body = read_body_slowly(t, BIG, stall=0.5, data=first)
    assert sha(body) == sha(big_body)
    t.close()
    srv.proc.wait(20)
    assert srv.proc.returncode == 0


def test_reload_with_tls_keepalive_connection(ptc, cert):
    srv = start(ptc, cert, 'location / { return 200 "gen1"; }')
    old = worker_pid(srv)
    t = tls_connect(srv.port)
    t.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert read_response(t).body == b"gen1"
    srv.reload(" server { " + SERVER + 'location / { return 200 "gen2"; } }')
    assert wait_for(lambda: "%d#%d: gracefully shutting down" % (old, old) in srv.error_log(),
                    10), "the old worker did not start its graceful shutdown"
    try:
        t.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        r = read_response(t)
    except (ConnectionError, ssl.SSLError, OSError):
        r = None                # the old worker closed the idle connection
    if r is not None:
        assert r.body == b"gen1" and r.header("Connection") == "close"
        assert read_to_close(t) == b""
    t.close()
    assert wait_for(lambda: old not in srv.worker_pids(), 10), "old worker still running"
    assert tls_get(srv.port).body == b"gen2"


# ---------------------------------------------------------------------------
# TLS close paths


def test_connection_close_ends_with_close_notify(ptc, cert):
    srv = start(ptc, cert, 'location / { return 200 "bye"; }')
    t = tls_connect(srv.port)
    t.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
    data = read_to_close(t)     # SSLEOFError without close_notify
    t.close()
    assert data.startswith(b"HTTP/1.1 200 ") and data.endswith(b"\r\n\r\nbye")


@pytest.mark.parametrize("body_first", [
    True,
    # nginx 1.22 waits lingering_timeout for the body it discards, then closes
    # without close_notify; Portico closes its side (close_notify) and lingers
    pytest.param(False, marks=pytest.mark.portico_only)])
def test_lingering_close_sends_close_notify(ptc, cert, body_first):
    """413 with the body unread: the response, a close_notify, then lingering."""
    srv = start(ptc, cert, "client_max_body_size 1k; location / { return 200; }")
    t = tls_connect(srv.port)
    t.sendall(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 20000\r\n\r\n"
              + (b"z" * 20000 if body_first else b""))
    data = read_to_close(t)
    t.close()
    assert data.startswith(b"HTTP/1.1 413 ")


def test_lingering_close_always_sends_close_notify(ptc, cert):
    srv = start(ptc, cert, 'lingering_close always; location / { return 200 "linger"; }')
    t = tls_connect(srv.port)
    t.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    data = read_to_close(t)
    t.close()
    assert data.startswith(b"HTTP/1.1 200 ") and data.endswith(b"linger")


@pytest.mark.needs_module("http_proxy")
@pytest.mark.portico_only
def test_truncated_close_delimited_response_has_no_close_notify(ptc, cert, backends):
    """An upstream that dies mid-body, relayed to an HTTP/1.0 client (close-delimited):
    without a close_notify the client can tell the body is truncated. Deliberately
    stricter than nginx 1.22, which sends close_notify after the cut body."""
    def handler(req):
        def send(sock, _):
            sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"5\r\nhello\r\n")
            time.sleep(0.3)
            return False        # closed without the last chunk
        return custom(send)
    b = backends.new(handler)
    srv = start(ptc, cert, "location / { proxy_pass http://%s; proxy_buffering off; }"
                % b.addr)
    t = tls_connect(srv.port)
    t.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
    t.settimeout(10)
    data = b""
    with pytest.raises(ssl.SSLError, match="(?i)eof"):
        while True:
            chunk = t.recv(65536)
            assert chunk, "clean TLS close after a truncated body: %r" % data
            data += chunk
    t.close()
    assert data.startswith(b"HTTP/1.1 200 ") and data.endswith(b"hello")


@pytest.mark.needs_module("http_proxy")
def test_limit_req_delay_with_body_already_in_tls_buffers(ptc, cert, backends):
    """The body came with the head in one record: OpenSSL holds it while the
    request waits in limit_req, so the socket has nothing more to say."""
    b = backends.new()
    srv = start(ptc, cert, "client_body_timeout 5s; location / { "
                "limit_req zone=one burst=5; proxy_pass http://%s; }" % b.addr,
                http="limit_req_zone $binary_remote_addr zone=one:1m rate=2r/s;")
    assert tls_get(srv.port).status == 200
    body = bytes(range(256)) * 16
    p = TLSPipe(srv.port)
    p.handshake()
    t0 = time.monotonic()
    p.send(b"POST /delayed HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body) + body)
    r = read_response(p, timeout=10)
    p.close()
    assert r.status == 200
    assert time.monotonic() - t0 < 3, "waited for client_body_timeout"
    assert b.requests[-1].body == body
