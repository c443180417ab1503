"""Tests of ja.py, the reference JA3/JA4 implementation and ClientHello capture helper that
other tests use to check $ssl_ja3 / $ssl_ja4: the published examples of the JA3 README and of
FoxIO's JA4 specification, the JA4 rules, and captures of real clients (openssl s_client,
curl, Python's ssl module), including a ClientHello split over several records.

These run no server binary: they hold whether PTC_BIN is Portico or nginx."""

import socket
import struct
import threading

import pytest

import ja


def spec_example(sigalgs=True):
    """FoxIO JA4.md's example: its 15 ciphers and 16 extensions in order, plus GREASE."""
    sig = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601] if sigalgs else []
    ciphers = [0x2A2A, 0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8,
               0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035]
    exts = [(0x0A0A, b""), (0x001B, b"\x02\x00\x02"), ja.ext_sni("example.com"),
            (0x0033, b"\x00\x00"), ja.ext_alpn(["h2", "http/1.1"]), (0x4469, b""),
            (0x0017, b""), (0x002D, b"\x01\x01"), ja.ext_sigalgs(sig), (0x0005, b""),
            (0x0023, b""), (0x0012, b""), ja.ext_versions([0x5A5A, 0x0304, 0x0303]),
            (0xFF01, b"\x00"), ja.ext_formats([0]), ja.ext_groups([0x3A3A, 29, 23, 24]),
            (0x0015, b"\x00\x00"), (0xFAFA, b"\x00")]
    return ja.client_hello(ciphers=ciphers, extensions=exts)


def test_ja3_readme_examples():
    m = ja.client_hello(0x0301, [47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4],
                        [ja.ext_sni("example.com"), ja.ext_groups([23, 24, 25]),
                         ja.ext_formats([0])])
    fp = ja.fingerprints(m)
    assert fp["ja3"] == "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0"
    assert fp["ja3_hash"] == "ada70206e40642a3e4461f35503241d5"
    m = ja.client_hello(0x0301, [4, 5, 10, 9, 100, 98, 3, 6, 19, 18, 99], None)
    fp = ja.fingerprints(m)
    assert fp["ja3"] == "769,4-5-10-9-100-98-3-6-19-18-99,,,"
    assert fp["ja3_hash"] == "de350869b8c85de67a350c8d186f11e6"


def test_ja4_spec_example():
    fp = ja.fingerprints(spec_example())
    assert fp["ja4"] == "t13d1516h2_8daaf6152771_e5627efa2ab1"
    assert fp["ja4_r"] == (
        "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9"
        "_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01"
        "_0403,0804,0401,0503,0805,0501,0806,0601")
    assert ja.fingerprints(spec_example(False))["ja4"] == "t13d1516h2_8daaf6152771_6d807ffa2a79"


@pytest.mark.parametrize("names, want", [
    ([], "00"), ([""], "00"), (["h2"], "h2"), (["http/1.1", "h2"], "h1"), (["x"], "xx"),
    ([b"\xab"], "ab"), ([b"\xab\xcd"], "ad"), ([b"0\xab"], "3b"), ([b"01\xab\xcd"], "3d"),
    ([b"0\xab\xcd1"], "01"),
])
def test_ja4_alpn_characters(names, want):
    m = ja.client_hello(extensions=[ja.ext_alpn(names)])
    assert ja.fingerprints(m)["ja4"][8:10] == want


def test_ja4_empty_lists_and_versions():
    m = ja.client_hello(version=0x0301, ciphers=[0x0A0A], extensions=[ja.ext_sni("a")])
    assert ja.fingerprints(m)["ja4"] == "t10d000100_000000000000_000000000000"
    m = ja.client_hello(ciphers=[0x1301], extensions=[ja.ext_versions([0x7A7A, 0x0302, 0x0304])])
    assert ja.fingerprints(m)["ja4"].startswith("t13i0101")


@pytest.mark.parametrize("bad", [
    b"", b"\x02\x00\x00\x00", b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00",
    ja.client_hello()[:-1], ja.client_hello() + b"\x00",
    ja.client_hello(extensions=[ja.ext_sni("a"), ja.ext_sni("b")]),
    ja.client_hello(extensions=[(10, b"\x00\x03\x00\x17\x00")]),
])
def test_parse_rejects(bad):
    with pytest.raises(ValueError):
        ja.parse_client_hello(bad)


def test_capture_openssl_tls13():
    msg = ja.capture_openssl("-tls1_3", "-servername", "example.test", "-alpn", "h2,http/1.1")
    fp = ja.fingerprints(msg)
    assert fp["ja4"].startswith("t13d") and fp["ja4"][8:10] == "h2"
    assert fp["ja3"].startswith("771,")


def test_capture_openssl_tls12_without_sni():
    fp = ja.fingerprints(ja.capture_openssl("-tls1_2", "-noservername", "-alpn", "http/1.1"))
    assert fp["ja4"][:4] == "t12i" and fp["ja4"][8:10] == "h1"


def test_capture_curl():
    fp = ja.fingerprints(ja.capture_curl())
    assert fp["ja4"].startswith("t13d") and fp["ja4"][8:10] == "h2"


def test_capture_python():
    ch = ja.parse_client_hello(ja.capture_python(server_hostname="localhost.test"))
    assert ch.sni and ja.ja4(ch).startswith("t13d")


def test_capture_reassembles_records():
    """A ClientHello split over three records, sent a few bytes per TCP segment."""
    msg = spec_example()
    pieces = [msg[:7], msg[7:100], msg[100:]]
    wire = b"".join(b"\x16\x03\x01" + struct.pack("!H", len(p)) + p for p in pieces)
    with ja.HelloCapture() as cap:
        def client():
            with socket.create_connection(("127.0.0.1", cap.port), timeout=10) as s:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                for i in range(0, len(wire), 50):
                    s.sendall(wire[i:i + 50])
                s.recv(1)
        t = threading.Thread(target=client, daemon=True)
        t.start()
        assert cap.wait(1)[0] == msg
        t.join(10)
