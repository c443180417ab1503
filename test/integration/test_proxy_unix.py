"""proxy_pass to a unix socket: http://unix:/path[:/uri]."""
import socket
import threading

import pytest

pytestmark = pytest.mark.needs_module("http_proxy")


def unix_origin(path, count):
    """Answers `count` requests on a unix socket with their request line."""
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.listen(4)

    def run():
        for _ in range(count):
            c, _ = s.accept()
            c.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
            line = data.split(b"\r\n")[0]
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                      % (len(line), line))
            c.close()
        s.close()

    threading.Thread(target=run, daemon=True).start()


def test_proxy_pass_to_unix_socket(ptc, tmp_path):
    sock = str(tmp_path / "origin.sock")
    unix_origin(sock, 2)
    srv = ptc.start("server { listen 127.0.0.1:%PORT%;\n"
                    "location /a/ { proxy_pass http://unix:" + sock + ":/b/; }\n"
                    "location /c/ { proxy_pass http://unix:" + sock + "; } }")
    assert srv.get("/a/x?q=1").body == b"GET /b/x?q=1 HTTP/1.0"
    assert srv.get("/c/y").body == b"GET /c/y HTTP/1.0"
