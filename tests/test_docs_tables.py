"""Every results table in docs/ is what scripts/build_docs_tables.py rebuilds from results/:
prose tables and raw results cannot drift apart. A changed number, row or run fails here."""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import build_docs_tables as B  # noqa: E402  (scripts/ is not a package)


def marked_tables() -> dict[str, str]:
    """{table name: the text between its markers} over docs/*.md."""
    out = {}
    for f in B.docs_files():
        for m in B.MARK.finditer(f.read_text()):
            assert m["name"] not in out, f"table {m['name']} is marked twice"
            out[m["name"]] = m["body"]
    return out


def test_every_table_in_docs_is_what_results_rebuild():
    tables = marked_tables()
    assert set(tables) == set(B.TABLES), "docs/ and scripts/build_docs_tables.py list different tables"
    differ = [name for name, body in tables.items() if body != B.build(name)]
    assert not differ, f"rebuild these with `python scripts/build_docs_tables.py`: {differ}"


def test_check_mode_catches_a_changed_number(tmp_path, monkeypatch):
    """One number off in a copy of the docs: --check names its table and exits 1."""
    docs = tmp_path / "docs"
    docs.mkdir()
    src = ROOT / "docs" / "RECIPE.md"
    text = src.read_text()
    body = B.MARK.search(text[text.index("<!-- table: over-read-dev -->"):])["body"]
    assert "0.487" in body
    (docs / "RECIPE.md").write_text(text.replace(body, body.replace("0.487", "0.488", 1)))
    monkeypatch.setattr(B, "docs_files", lambda: [docs / "RECIPE.md"])
    assert B.update(docs / "RECIPE.md", check=True) == ["RECIPE.md: over-read-dev"]
    assert B.main(["--check"]) == 1
    B.main([])  # rewrite: the copy is whole again
    assert B.update(docs / "RECIPE.md", check=True) == []


def test_a_row_must_be_one_setting():
    with pytest.raises(SystemExit, match="not one"):
        B._summary([B.ROB + "smf-test-lr8000-cap5-*-st60-s0"])
