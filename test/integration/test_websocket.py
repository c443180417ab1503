"""WebSocket (HTTP Upgrade) tunnels with nginx's recipe: map $http_upgrade to
$connection_upgrade, proxy_http_version 1.1, pass Upgrade and Connection. After the 101
the proxy relays raw bytes both ways, closes the tunnel when either side closes, and
uses proxy_read_timeout as the tunnel's idle timeout."""

import base64
import hashlib
import os
import socket
import time

import pytest

from backend import Backends, response, tunnel

pytestmark = pytest.mark.needs_module("http_proxy")

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
KEY = base64.b64encode(b"0123456789abcdef").decode()


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


def accept_value(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def ws_handler(close_on=None):
    def handler(req):
        if (req.header("Upgrade") or "").lower() != "websocket":
            return None
        head = response(101, headers=[("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                      ("Sec-WebSocket-Accept",
                                       accept_value(req.header("Sec-WebSocket-Key")))],
                        length=False)
        return tunnel(head, close_on=close_on)
    return handler


def start(ptc, b, extra=""):
    return ptc.start("""
        map $http_upgrade $connection_upgrade { default upgrade; '' close; }
        server {
            listen 127.0.0.1:%%PORT%%;
            location /ws {
                proxy_pass http://%s;
                proxy_http_version 1.1;
                proxy_set_header Upgrade $http_upgrade;
                proxy_set_header Connection $connection_upgrade;
                %s
            }
        }""" % (b.addr, extra))


def handshake(srv):
    """Open a tunnel; returns (socket, 101 response head)."""
    s = srv.connect()
    s.sendall(("GET /ws/chat HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % KEY).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        data = s.recv(1)        # byte by byte: nothing after the head may be consumed
        assert data, "closed during the handshake: %r" % head
        head += data
    return s, head.decode("latin-1")


def recv_exactly(sock, n, timeout=3.0):
    sock.settimeout(timeout)
    out = b""
    while len(out) < n:
        data = sock.recv(n - len(out))
        assert data, "tunnel closed after %r" % out
        out += data
    return out


def closed_within(sock, timeout):
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def masked_frame(payload):
    """A minimal masked client text frame (FIN, opcode 1, payload < 126 bytes)."""
    mask = os.urandom(4)
    data = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + data


def test_upgrade_then_bytes_both_ways(ptc, backends):
    b = backends.new(ws_handler())
    srv = start(ptc, b)
    s, head = handshake(srv)
    assert head.startswith("HTTP/1.1 101 Switching Protocols\r\n")
    assert "\r\nSec-WebSocket-Accept: %s\r\n" % accept_value(KEY) in head
    assert "\r\nUpgrade: websocket\r\n" in head
    req = b.requests[0]
    assert req.header("Upgrade") == "websocket"
    assert req.header("Connection").lower() == "upgrade"
    assert req.header("Sec-WebSocket-Key") == KEY
    assert req.raw.startswith(b"GET /ws/chat HTTP/1.1\r\n")
    sent = b""
    for payload in (b"hello", bytes(range(256)) * 40, masked_frame(b"frame")):
        s.sendall(payload)
        sent += payload
        assert recv_exactly(s, len(payload)) == payload
    s.close()
    assert b.connections[0].closed.wait(3), "backend side not closed after the client left"
    assert req.tunnel == sent


def test_backend_close_ends_the_tunnel(ptc, backends):
    b = backends.new(ws_handler(close_on=b"bye"))
    srv = start(ptc, b)
    s, head = handshake(srv)
    assert head.startswith("HTTP/1.1 101 ")
    s.sendall(b"ping")
    assert recv_exactly(s, 4) == b"ping"
    s.sendall(b"bye")
    assert closed_within(s, 3)
    s.close()


def test_read_timeout_is_the_idle_timeout(ptc, backends):
    b = backends.new(ws_handler())
    srv = start(ptc, b, "proxy_read_timeout 1s;")
    s, _ = handshake(srv)
    for i in range(4):              # traffic every 0.5 s keeps it open past 1 s
        time.sleep(0.5)
        s.sendall(b"tick%d" % i)
        assert recv_exactly(s, 5) == b"tick%d" % i
    t0 = time.monotonic()
    assert closed_within(s, 4)
    idle = time.monotonic() - t0
    s.close()
    assert 0.7 < idle < 3.0, idle
    assert b.connections[0].closed.wait(3)


def test_plain_request_to_the_same_location(ptc, backends):
    b = backends.new(ws_handler())
    srv = start(ptc, b)
    r = srv.get("/ws/plain")
    assert (r.status, r.body) == (200, ("%s GET /ws/plain" % b.name).encode())
    req = b.requests[0]
    assert req.header_all("Connection") == ["close"] and req.header("Upgrade") is None
