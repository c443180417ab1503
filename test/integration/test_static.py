"""Static files: headers, HEAD, conditional requests, ranges, directories and index,
alias, types, large files and path traversal."""

import email.utils
import os
import re

import pytest

from conftest import parse_response

HELLO = b"Hello, static world!\n"  # 21 bytes

FILES = {
    "html/hello.txt": HELLO,
    "html/page.html": "<p>page</p>\n",
    "html/noext": "raw bytes",
    "html/file.foo": "foo file",
    "html/dir/index.html": "dir index\n",
    "html/empty/keep.txt": "x",
    "html/multi/a.html": "A\n",
    "html/multi/b.html": "B\n",
    "html/second/b.html": "only b\n",
    "aliased/inner.txt": "from alias\n",
    "secret.txt": "TOP SECRET\n",
}

CONF = """
include mime.types;
default_type application/octet-stream;
server {
    listen 127.0.0.1:%PORT%;
    root html;
    location /multi/ { index a.html b.html; }
    location /second/ { index a.html b.html; }
    location /al/ { alias %PREFIX%/aliased/; }
    location /plain/ { default_type text/x-default; alias %PREFIX%/html/; }
    location /foo/ {
        types { text/x-foo foo; }
        alias %PREFIX%/html/;
    }
}
"""

ETAG_RE = re.compile(r'"[0-9a-f]+-[0-9a-f]+"')


@pytest.fixture
def srv(ptc):
    return ptc.start(CONF, files=FILES)


def test_get_file(srv):
    r = srv.get("/hello.txt")
    assert (r.status, r.reason) == (200, "OK")
    assert r.body == HELLO
    assert r.header("Content-Type") == "text/plain"
    assert r.header("Content-Length") == str(len(HELLO))
    assert r.header("Accept-Ranges") == "bytes"
    etag = r.header("ETag")
    assert ETAG_RE.fullmatch(etag), etag
    st = os.stat(srv.prefix / "html/hello.txt")
    assert etag == '"%x-%x"' % (int(st.st_mtime), st.st_size)
    assert r.header("Last-Modified") == email.utils.formatdate(int(st.st_mtime), usegmt=True)


def test_content_type_by_extension_and_default(srv):
    assert srv.get("/page.html").header("Content-Type") == "text/html"
    assert srv.get("/noext").header("Content-Type") == "application/octet-stream"
    assert srv.get("/plain/noext").header("Content-Type") == "text/x-default"


def test_types_block_overrides_inherited_types(srv):
    r = srv.get("/foo/file.foo")
    assert (r.status, r.body, r.header("Content-Type")) == (200, b"foo file", "text/x-foo")
    # a location-level types{} replaces the whole table: .txt is unknown there
    assert srv.get("/foo/hello.txt").header("Content-Type") == "application/octet-stream"
    assert srv.get("/file.foo").header("Content-Type") == "application/octet-stream"


def test_head_has_headers_without_body(srv):
    g = srv.get("/hello.txt")
    s = srv.connect()
    s.sendall(b"HEAD /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    assert data.endswith(b"\r\n\r\n")  # nothing after the header block
    h = parse_response(data, head=True)
    assert (h.status, h.body) == (200, b"")
    for name in ("Content-Type", "Content-Length", "Last-Modified", "ETag", "Accept-Ranges"):
        assert h.header(name) == g.header(name), name


def test_if_none_match_gives_304(srv):
    etag = srv.get("/hello.txt").header("ETag")
    r = srv.get("/hello.txt", headers={"If-None-Match": etag})
    assert (r.status, r.reason, r.body) == (304, "Not Modified", b"")
    assert r.header("ETag") == etag
    assert r.header("Content-Length") is None
    assert srv.get("/hello.txt", headers={"If-None-Match": '"0-0"'}).status == 200


def test_if_modified_since(srv):
    lm = srv.get("/hello.txt").header("Last-Modified")
    r = srv.get("/hello.txt", headers={"If-Modified-Since": lm})
    assert (r.status, r.body) == (304, b"")
    assert r.header("Last-Modified") == lm
    older = srv.get("/hello.txt", headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert (older.status, older.body) == (200, HELLO)


def test_range(srv):
    r = srv.get("/hello.txt", headers={"Range": "bytes=2-5"})
    assert (r.status, r.reason) == (206, "Partial Content")
    assert r.header("Content-Range") == "bytes 2-5/%d" % len(HELLO)
    assert r.header("Content-Length") == "4"
    assert r.body == HELLO[2:6]


def test_suffix_range(srv):
    r = srv.get("/hello.txt", headers={"Range": "bytes=-3"})
    assert r.status == 206
    assert r.header("Content-Range") == "bytes %d-%d/%d" % (len(HELLO) - 3, len(HELLO) - 1,
                                                           len(HELLO))
    assert r.body == HELLO[-3:]


def test_open_range_clipped_to_size(srv):
    r = srv.get("/hello.txt", headers={"Range": "bytes=10-1000"})
    assert r.status == 206
    assert r.header("Content-Range") == "bytes 10-%d/%d" % (len(HELLO) - 1, len(HELLO))
    assert r.body == HELLO[10:]


def test_unsatisfiable_range_is_416(srv):
    r = srv.get("/hello.txt", headers={"Range": "bytes=100-"})
    assert (r.status, r.reason) == (416, "Requested Range Not Satisfiable")
    assert r.header("Content-Range") == "bytes */%d" % len(HELLO)


@pytest.mark.portico_only
def test_multiple_ranges_give_full_200(srv):
    """nginx answers multipart/byteranges; Portico sends the whole file."""
    r = srv.get("/hello.txt", headers={"Range": "bytes=0-1,4-5"})
    assert (r.status, r.body) == (200, HELLO)
    assert r.header("Content-Range") is None


def test_missing_file_is_404(srv):
    r = srv.get("/nope.txt")
    assert (r.status, r.reason) == (404, "Not Found")
    assert b"<center><h1>404 Not Found</h1></center>" in r.body


def test_directory_without_slash_redirects(srv):
    r = srv.get("/dir")
    assert (r.status, r.reason) == (301, "Moved Permanently")
    assert r.header("Location") == "http://localhost:%d/dir/" % srv.port
    r = srv.get("/dir?x=1")
    assert r.header("Location") == "http://localhost:%d/dir/?x=1" % srv.port


def test_directory_index_is_served(srv):
    r = srv.get("/dir/")
    assert (r.status, r.body, r.header("Content-Type")) == (200, b"dir index\n", "text/html")


def test_directory_without_index_is_403(srv):
    r = srv.get("/empty/")
    assert (r.status, r.reason) == (403, "Forbidden")
    assert srv.get("/missingdir/").status == 404


def test_index_order(srv):
    assert srv.get("/multi/").body == b"A\n"
    assert srv.get("/second/").body == b"only b\n"


def test_alias(srv):
    r = srv.get("/al/inner.txt")
    assert (r.status, r.body) == (200, b"from alias\n")
    assert srv.get("/aliased/inner.txt").status == 404


@pytest.mark.parametrize("sendfile", ["on", "off"])
def test_large_file_intact(ptc, sendfile):
    data = bytes(range(251)) * (2 * 1024 * 1024 // 251 + 1)
    srv = ptc.start("server { listen 127.0.0.1:%PORT%; root html; sendfile " + sendfile + "; }",
                    files={"html/big.bin": data, "html/small.bin": data[:5000]})
    r = srv.get("/big.bin", timeout=20)
    assert r.status == 200
    assert r.header("Content-Length") == str(len(data))
    assert r.body == data
    r = srv.get("/small.bin")
    assert (r.status, r.body) == (200, data[:5000])
    # a range in the middle of the big file, through the same output path
    r = srv.get("/big.bin", headers={"Range": "bytes=1000000-1999999"}, timeout=20)
    assert (r.status, r.body) == (206, data[1000000:2000000])


DEEP = "/.." * 30


@pytest.mark.parametrize("target", [
    "/../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/dir/../../secret.txt",
    "/..%2fsecret.txt",
    "/al/../../secret.txt",
    DEEP + "/etc/passwd",
    DEEP.replace("..", "%2e%2e") + "/etc/passwd",
])
def test_path_traversal_is_refused(srv, target):
    """A path climbing above the root never serves a file outside it (nginx: 400)."""
    r = srv.get(target)
    assert r.status in (400, 404), r
    assert b"SECRET" not in r.body and b"root:" not in r.body


@pytest.mark.parametrize("target", ["/dir/../hello.txt", "/dir/%2e%2e/hello.txt",
                                    "/./hello.txt", "//hello.txt"])
def test_dot_segments_inside_root_are_resolved(srv, target):
    r = srv.get(target)
    assert (r.status, r.body) == (200, HELLO)
