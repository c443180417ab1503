"""Config language: errors name FILE:LINE, include globs, map, variables in return/add_header."""

import re

import pytest


def emerg(srv, conf, message, line, path=None):
    """`-t` on the raw config `conf` fails with `[emerg] message in PATH:LINE`."""
    srv.conf_path.write_text(conf)
    r = srv.cli("-t")
    assert r.returncode == 1, r.stderr
    where = " in %s:%d" % (path or srv.conf_path, line)
    assert re.search(r"\[emerg\] (\d+#\d+: )?%s%s\n" % (message, re.escape(where)), r.stderr), \
        "want [emerg] %s%s\ngot: %s" % (message, where, r.stderr)
    return r


ERRORS = [
    # (config, regex of the message, line)
    ("events { }\nhttp {\n    server {\n        foo bar;\n    }\n}\n",
     re.escape('unknown directive "foo"'), 4),
    ("events { }\nhttp {\n    listen 8080;\n}\n",
     re.escape('"listen" directive is not allowed here'), 3),
    ("events { }\nhttp {\n    server {\n        location / {\n            root a b;\n"
     "        }\n    }\n}\n",
     re.escape('invalid number of arguments in "root" directive'), 5),
    ("events { }\nhttp {\n    server {\n        root;\n    }\n}\n",
     re.escape('invalid number of arguments in "root" directive'), 4),
    ("events { }\nhttp {\n    server {\n        location / {\n            root a;\n"
     "            root b;\n        }\n    }\n}\n",
     re.escape('"root" directive is duplicate'), 6),
    ("events { }\nhttp {\n    server {\n        location / { return 200 }\n    }\n}\n",
     re.escape('unexpected "}"'), 4),
    ("events { }\nhttp {\n    server {\n        location / { }\n",
     re.escape('unexpected end of file, expecting "}"'), 5),
    ("events { }\nhttp {\n    server {\n        location / {\n            return 200 \"x\";\n"
     "        }\n    }\n}\n}\n",
     re.escape('unexpected "}"'), 9),
    ("events {\n    worker_connections abc;\n}\nhttp { }\n",
     r'invalid\b.*"abc"', 2),
    ("events { }\nhttp {\n    keepalive_timeout abc;\n}\n",
     re.escape('"keepalive_timeout" directive invalid value'), 3),
    ("events { }\nhttp {\n    client_max_body_size 10q;\n}\n",
     re.escape('"client_max_body_size" directive invalid value'), 3),
    ("events { }\nhttp {\n    keepalive_requests lots;\n}\n",
     re.escape('"keepalive_requests" directive invalid number'), 3),
    ("events { }\nhttp {\n    sendfile maybe;\n}\n",
     re.escape('invalid value "maybe" in "sendfile" directive, it must be "on" or "off"'), 3),
]


@pytest.mark.parametrize("conf,message,line", ERRORS,
                         ids=["unknown", "context", "args-more", "args-none", "duplicate",
                              "missing-semicolon", "missing-brace", "extra-brace",
                              "worker-connections", "time", "size", "number", "flag"])
def test_config_error_names_file_and_line(ptc, conf, message, line):
    emerg(ptc.prepare(), conf, message, line)


def test_error_in_included_file_names_that_file(ptc):
    srv = ptc.prepare(files={"conf/inc/site.conf": "server {\n    listen 127.0.0.1:%PORT%;\n"
                                                   "    frobnicate;\n}\n"})
    emerg(srv, "events { }\nhttp {\n    include inc/site.conf;\n}\n",
          re.escape('unknown directive "frobnicate"'), 3,
          path=srv.prefix / "conf" / "inc" / "site.conf")


def test_include_missing_file_is_an_error(ptc):
    srv = ptc.prepare()
    missing = srv.prefix / "conf" / "nothere.conf"
    emerg(srv, "events { }\nhttp {\n\n    include nothere.conf;\n}\n",
          re.escape('open() "%s" failed (2: No such file or directory)' % missing), 4)


def test_include_glob_applies_every_file(ptc):
    srv = ptc.start(
        "include inc/*.conf;",
        files={"conf/inc/a.conf": 'server { listen 127.0.0.1:%PORT1%; return 200 "A"; }\n',
               "conf/inc/b.conf": 'server { listen 127.0.0.1:%PORT2%; return 200 "B"; }\n',
               "conf/inc/c.txt": 'server { listen 127.0.0.1:%PORT3%; return 200 "C"; }\n'},
        ports=3, wait=False)
    assert srv.wait_for(lambda: srv.get("/", port=srv.ports[1]).status == 200)
    assert srv.get("/", port=srv.ports[0]).body == b"A"
    assert srv.get("/", port=srv.ports[1]).body == b"B"
    try:
        srv.get("/", port=srv.ports[2])
        assert False, "c.txt must not have been included"
    except ConnectionRefusedError:
        pass


MAP_CONF = r"""
map $uri $mapped {
    default             none;
    /exact              exact_hit;
    ~^/u/(?<name>\w+)$  user_$name;
    ~^/v/(\d+)$         v$1;
    ~*^/CASE/           ci;
    ~^/case/            cs;
}
map $host $zone {
    hostnames;
    default             other;
    example.com         plain;
    *.example.com       wild_com;
    .example.org        dot_org;
}
server {
    listen 127.0.0.1:%PORT%;
    location / { return 200 "$mapped|$zone"; }
}
"""


@pytest.mark.parametrize("path,host,expected", [
    ("/exact", "localhost", "exact_hit|other"),
    ("/exact/more", "localhost", "none|other"),
    ("/u/alice", "localhost", "user_alice|other"),
    ("/u/alice/x", "localhost", "none|other"),
    ("/v/42", "localhost", "v42|other"),
    ("/case/x", "localhost", "ci|other"),
    ("/Case/x", "localhost", "ci|other"),
    ("/nothing", "example.com", "none|plain"),
    ("/nothing", "www.example.com", "none|wild_com"),
    ("/nothing", "a.b.example.com", "none|wild_com"),
    ("/nothing", "example.org", "none|dot_org"),
    ("/nothing", "www.example.org", "none|dot_org"),
    ("/nothing", "example.net", "none|other"),
])
def test_map(ptc, path, host, expected):
    srv = ptc.start(MAP_CONF)
    r = srv.get(path, host=host)
    assert (r.status, r.body.decode()) == (200, expected)


def test_map_connection_upgrade_recipe(ptc):
    srv = ptc.start("""
        map $http_upgrade $connection_upgrade { default upgrade; '' close; }
        server { listen 127.0.0.1:%PORT%; return 200 "$connection_upgrade"; }
    """)
    assert srv.get("/").body == b"close"
    assert srv.get("/", headers={"Upgrade": "websocket"}).body == b"upgrade"


def test_variables_in_return_and_add_header(ptc):
    srv = ptc.start("""
        server {
            listen 127.0.0.1:%PORT%;
            server_name main.test;
            location /v/ {
                add_header X-Uri "$uri";
                add_header X-Args "a=$arg_a;all=$args" always;
                return 200 "$request_method $host $server_name $http_x_thing $is_args$args";
            }
            location /missing/ {
                add_header X-Status "st=$status" always;
                return 404;
            }
        }
    """)
    r = srv.get("/v/p?a=1&b=2", host="Www.Example.Com", headers={"X-Thing": "thing value"})
    assert r.status == 200
    assert r.body == b"GET www.example.com main.test thing value ?a=1&b=2"
    assert r.header("X-Uri") == "/v/p"
    assert r.header("X-Args") == "a=1;all=a=1&b=2"
    r = srv.get("/missing/x")
    assert r.status == 404
    assert r.header("X-Status") == "st=404"
