"""JA3 and JA4 TLS client fingerprints in pure Python, and a ClientHello capture helper.

An implementation written from the specifications (salesforce/ja3 README, FoxIO JA4
technical_details/JA4.md; definitions in docs/fingerprints.md), independent of the C code
in core/ptc_tls_hello.c, so tests can check one against the other. Standard library only.

    msg = capture_openssl("-tls1_3", "-servername", "example.test", "-alpn", "h2")
    ch = parse_client_hello(msg)      # msg: the handshake message, type 0x01 + 3-byte length
    ja3_string(ch), ja3_hash(ch), ja4(ch), ja4_r(ch)

Capture: HelloCapture() listens on 127.0.0.1 (kernel-chosen port), reads the TLS records
each client sends until one whole ClientHello handshake message has arrived (reassembled
when it spans records), records it and closes the connection. capture_openssl(),
capture_curl() and capture_python() run one client against it and return the message.

Building: client_hello(...) and the ext_*() helpers write ClientHello messages for tests.

Run as a script to print a client's ClientHello (hex) and its fingerprints:
    python3 test/integration/ja.py openssl -tls1_2 -servername example.test -alpn h2
    python3 test/integration/ja.py curl | python | hex HEX
"""

import hashlib
import socket
import ssl
import struct
import subprocess
import sys
import threading

# ---------------------------------------------------------------------------
# parsing

EXT_SNI, EXT_GROUPS, EXT_FORMATS, EXT_SIGALGS, EXT_ALPN, EXT_VERSIONS = 0, 10, 11, 13, 16, 43

JA4_VERSIONS = {
    0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3", 0x0002: "s2",
    0xFEFF: "d1", 0xFEFD: "d2", 0xFEFC: "d3",
}


def is_grease(v):
    """RFC 8701 GREASE value: 0x0a0a, 0x1a1a, ..., 0xfafa."""
    return (v & 0x0F0F) == 0x0A0A and (v >> 8) == (v & 0xFF)


class ClientHello:
    """The fields fingerprints use. Lists keep GREASE values and wire order."""

    def __init__(self):
        self.version = 0
        self.ciphers = []
        self.extensions = []  # [(type, data)]
        self.groups = []
        self.formats = []
        self.sigalgs = []
        self.versions = []
        self.alpn = []  # protocol names (bytes)
        self.sni = False


class _Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if n > len(self.data) - self.pos:
            raise ValueError("truncated at %d (+%d of %d)" % (self.pos, n, len(self.data)))
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack("!H", self.take(2))[0]

    def vec(self, prefix):
        return self.take(self.u8() if prefix == 1 else self.u16())

    def done(self):
        return self.pos == len(self.data)


def _u16_list(data):
    if len(data) % 2:
        raise ValueError("odd length of a 16-bit list")
    return [v for (v,) in struct.iter_unpack("!H", data)]


def _whole_vec(data, prefix):
    r = _Reader(data)
    out = r.vec(prefix)
    if not r.done():
        raise ValueError("extension data longer than its list")
    return out


def _alpn_names(data):
    r, names = _Reader(_whole_vec(data, 2)), []
    while not r.done():
        names.append(r.vec(1))
    return names


def _read_extension(ch, etype, data):
    if etype == EXT_SNI:
        ch.sni = True
    elif etype == EXT_GROUPS:
        ch.groups = _u16_list(_whole_vec(data, 2))
    elif etype == EXT_FORMATS:
        ch.formats = list(_whole_vec(data, 1))
    elif etype == EXT_SIGALGS:
        ch.sigalgs = _u16_list(_whole_vec(data, 2))
    elif etype == EXT_ALPN:
        ch.alpn = _alpn_names(data)
    elif etype == EXT_VERSIONS:
        ch.versions = _u16_list(_whole_vec(data, 1))


def parse_client_hello(msg):
    """Parse one ClientHello handshake message; ValueError when it is malformed."""
    msg = bytes(msg)
    if len(msg) < 4 or msg[0] != 1:
        raise ValueError("not a ClientHello handshake message")
    if int.from_bytes(msg[1:4], "big") != len(msg) - 4:
        raise ValueError("handshake length does not match the message")
    r, ch = _Reader(msg[4:]), ClientHello()
    ch.version = r.u16()
    r.take(32)
    if len(r.vec(1)) > 32:
        raise ValueError("session id over 32 bytes")
    ch.ciphers = _u16_list(r.vec(2))
    if not r.vec(1):
        raise ValueError("no compression method")
    if r.done():
        return ch
    block = r.vec(2)
    if not r.done():
        raise ValueError("bytes after the extensions")
    er, seen = _Reader(block), set()
    while not er.done():
        etype, data = er.u16(), er.vec(2)
        if etype in (EXT_SNI, EXT_GROUPS, EXT_FORMATS, EXT_SIGALGS, EXT_ALPN, EXT_VERSIONS):
            if etype in seen:
                raise ValueError("duplicate extension %d" % etype)
            seen.add(etype)
        _read_extension(ch, etype, data)
        ch.extensions.append((etype, data))
    return ch


# ---------------------------------------------------------------------------
# fingerprints


def _no_grease(values):
    return [v for v in values if not is_grease(v)]


def ja3_string(ch):
    """SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats."""
    def dashed(values):
        return "-".join(str(v) for v in values)
    return ",".join([
        str(ch.version),
        dashed(_no_grease(ch.ciphers)),
        dashed(_no_grease([t for t, _ in ch.extensions])),
        dashed(_no_grease(ch.groups)),
        dashed(ch.formats),
    ])


def ja3_hash(ch):
    return hashlib.md5(ja3_string(ch).encode()).hexdigest()


def _alpn_chars(name):
    if not name:
        return "00"
    first, last = name[0], name[-1]
    if chr(first).isascii() and chr(first).isalnum() and chr(last).isascii() \
            and chr(last).isalnum():
        return chr(first) + chr(last)
    text = name.hex()
    return text[0] + text[-1]


def _ja4_parts(ch, transport):
    """(a, cipher text, extension text) of JA4; the texts are None for empty lists."""
    versions = _no_grease(ch.versions)
    version = JA4_VERSIONS.get(max(versions) if versions else ch.version, "00")
    ciphers = _no_grease(ch.ciphers)
    exts = _no_grease([t for t, _ in ch.extensions])
    a = "%s%s%s%02d%02d%s" % (transport, version, "d" if ch.sni else "i",
                              min(len(ciphers), 99), min(len(exts), 99),
                              _alpn_chars(ch.alpn[0] if ch.alpn else b""))
    hex_list = lambda values: ",".join("%04x" % v for v in values)  # noqa: E731
    b = hex_list(sorted(ciphers)) if ciphers else None
    kept = sorted(t for t in exts if t not in (EXT_SNI, EXT_ALPN))
    c = None
    if kept:
        c = hex_list(kept)
        sigalgs = _no_grease(ch.sigalgs)
        if sigalgs:
            c += "_" + hex_list(sigalgs)
    return a, b, c


def ja4(ch, transport="t"):
    """The JA4 fingerprint, e.g. t13d1516h2_8daaf6152771_e5627efa2ab1."""
    a, b, c = _ja4_parts(ch, transport)

    def h(text):
        return hashlib.sha256(text.encode()).hexdigest()[:12] if text else "0" * 12
    return "%s_%s_%s" % (a, h(b), h(c))


def ja4_r(ch, transport="t"):
    """JA4 with the lists before hashing (FoxIO's "raw" form), for debugging."""
    a, b, c = _ja4_parts(ch, transport)
    return "%s_%s_%s" % (a, b or "", c or "")


def fingerprints(msg):
    """{"ja3", "ja3_hash", "ja4", "ja4_r"} of a ClientHello message."""
    ch = parse_client_hello(msg)
    return {"ja3": ja3_string(ch), "ja3_hash": ja3_hash(ch), "ja4": ja4(ch), "ja4_r": ja4_r(ch)}


# ---------------------------------------------------------------------------
# building ClientHello messages (tests)


def _vec(prefix, data):
    return len(data).to_bytes(prefix, "big") + data


def _u16s(values):
    return b"".join(struct.pack("!H", v) for v in values)


def ext_sni(host):
    name = host.encode()
    return (EXT_SNI, _vec(2, b"\x00" + _vec(2, name)))


def ext_alpn(names):
    return (EXT_ALPN, _vec(2, b"".join(_vec(1, n if isinstance(n, bytes) else n.encode())
                                       for n in names)))


def ext_groups(values):
    return (EXT_GROUPS, _vec(2, _u16s(values)))


def ext_formats(values):
    return (EXT_FORMATS, _vec(1, bytes(values)))


def ext_sigalgs(values):
    return (EXT_SIGALGS, _vec(2, _u16s(values)))


def ext_versions(values):
    return (EXT_VERSIONS, _vec(1, _u16s(values)))


def client_hello(version=0x0303, ciphers=(0x1301,), extensions=None, session_id=b"",
                 compression=b"\x00", random=bytes(32)):
    """A ClientHello handshake message; extensions=None leaves the block out entirely."""
    body = struct.pack("!H", version) + random + _vec(1, session_id) \
        + _vec(2, _u16s(ciphers)) + _vec(1, compression)
    if extensions is not None:
        body += _vec(2, b"".join(struct.pack("!H", t) + _vec(2, d) for t, d in extensions))
    return b"\x01" + len(body).to_bytes(3, "big") + body


# ---------------------------------------------------------------------------
# capturing real clients


def read_client_hello(sock, timeout=10.0):
    """Read TLS records from sock until one whole handshake message is in; return it."""
    sock.settimeout(timeout)
    buf, hs = b"", b""

    def need(n):
        nonlocal buf
        while len(buf) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise ValueError("connection closed before a whole ClientHello")
            buf += chunk
    while len(hs) < 4 or len(hs) < 4 + int.from_bytes(hs[1:4], "big"):
        need(5)
        rtype, rlen = buf[0], struct.unpack("!H", buf[3:5])[0]
        if rtype != 22:
            raise ValueError("record type %d before the ClientHello ended" % rtype)
        need(5 + rlen)
        hs += buf[5:5 + rlen]
        buf = buf[5 + rlen:]
    return hs[:4 + int.from_bytes(hs[1:4], "big")]


class HelloCapture:
    """A TCP listener on 127.0.0.1 recording the ClientHello of each connection."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.hellos, self.errors = [], []
        self.cond = threading.Condition()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    hello = read_client_hello(conn)
                except (OSError, ValueError) as e:
                    hello = None
                    err = str(e)
                with self.cond:
                    if hello is None:
                        self.errors.append(err)
                    else:
                        self.hellos.append(hello)
                    self.cond.notify_all()

    def wait(self, count=1, timeout=10.0):
        """The first `count` captured messages; AssertionError on timeout."""
        with self.cond:
            ok = self.cond.wait_for(lambda: len(self.hellos) >= count, timeout)
            if not ok:
                raise AssertionError("no ClientHello captured: %s" % self.errors)
            return self.hellos[:count]

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _capture_command(argv_for_port, timeout=20.0):
    with HelloCapture() as cap:
        proc = subprocess.Popen(argv_for_port(cap.port), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            return cap.wait(1, timeout)[0]
        finally:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def capture_openssl(*args):
    """The ClientHello of `openssl s_client -connect 127.0.0.1:PORT ARGS...`."""
    return _capture_command(
        lambda port: ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port] + list(args))


def capture_curl(*args, host="example.test"):
    """The ClientHello of `curl -k https://HOST:PORT/` (HOST resolved to 127.0.0.1)."""
    return _capture_command(lambda port: [
        "curl", "-k", "-s", "-o", "/dev/null", "--max-time", "10",
        "--resolve", "%s:%d:127.0.0.1" % (host, port)] + list(args)
        + ["https://%s:%d/" % (host, port)])


def capture_python(context=None, server_hostname=None):
    """The ClientHello of Python's ssl module (default client context unless given)."""
    if context is None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    with HelloCapture() as cap:
        def client():
            try:
                with socket.create_connection(("127.0.0.1", cap.port), timeout=10) as s:
                    with context.wrap_socket(s, server_hostname=server_hostname):
                        pass
            except (OSError, ssl.SSLError):
                pass  # the capture server hangs up after the ClientHello
        t = threading.Thread(target=client, daemon=True)
        t.start()
        try:
            return cap.wait(1)[0]
        finally:
            t.join(10)


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    kind, rest = argv[0], argv[1:]
    if kind == "openssl":
        msg = capture_openssl(*rest)
    elif kind == "curl":
        msg = capture_curl(*rest)
    elif kind == "python":
        msg = capture_python(server_hostname=rest[0] if rest else None)
    elif kind == "hex":
        msg = bytes.fromhex("".join(rest))
    else:
        print("unknown client %r" % kind, file=sys.stderr)
        return 2
    print(msg.hex())
    for key, value in fingerprints(msg).items():
        print("%s: %s" % (key, value))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
