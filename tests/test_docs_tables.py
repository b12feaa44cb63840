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


def test_stream_table_gives_the_published_stream_figures():
    """The stream kind (one row per setting) on the earlier test streams: SMF's ACC, stage 1 at
    the end and WikiText drift as docs/STREAM.md gives them, and L = mean R[s, s] by hand."""
    import json

    import numpy as np

    table = B.stream_table({"boot": "seeds-items", "rows": [("smf", ["results/stream/test/smf-s10*"]),
                                                             ("absent", ["results/stream/test/nothing-*"])]})
    row = table.splitlines()[2]
    Rs = [np.array(json.loads((ROOT / f"results/stream/test/smf-s{s}/results.json").read_text())["R"]) for s in (100, 101)]
    L = np.mean([np.mean([R[s + 1, s] for s in range(5)]) for R in Rs])
    assert row.startswith(f"| smf | 100,101 | {L:.3f} [") and "| 0.469 [0.414, 0.522] |" in row
    assert "/ 0.382 [0.299, 0.472] |" in row and "| +0.5 [-0.9, +2.0] |" in row and "| 27% |" in row
    assert table.splitlines()[3].startswith("| absent | not run |")
