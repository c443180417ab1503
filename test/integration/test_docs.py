"""The documentation keeps up with the code: every directive in a directive
table is in README's configuration reference and in a docs/ page."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def code_directives():
    names = set()
    for src in list(ROOT.glob("core/*.c")) + list(ROOT.glob("modules/*/*.c")):
        for m in re.finditer(r'^\s*\{"([a-z0-9_]+)",\s*[A-Z_(][^,]*,\s*PTC_ARGS', src.read_text(),
                             re.M):
            names.add(m.group(1))
    return names


def test_every_directive_is_documented():
    names = code_directives()
    assert len(names) > 50, names
    readme = (ROOT / "README.md").read_text()
    docs = "".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    missing_readme = sorted(n for n in names if "`%s`" % n not in readme
                            and "`%s " % n not in readme)
    missing_docs = sorted(n for n in names if not re.search(r"\b%s\b" % re.escape(n), docs))
    assert not missing_readme, "not in README.md: %s" % missing_readme
    assert not missing_docs, "not in docs/: %s" % missing_docs
