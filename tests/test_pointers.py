"""Every pointer a comment, docstring or doc gives to another document is true: each
docs/....md path exists, and each section it names (README, "Section"; docs/X.md, "Section")
is a heading of that file (the text cited is the heading, or its start)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*ROOT.glob("*.py"), *ROOT.glob("tests/*.py"), *ROOT.glob("scripts/*.py"), *ROOT.glob("benchmarks/*.py"),
                  *ROOT.glob("course/*.py"), *ROOT.glob("notebooks/*.py"), *ROOT.glob("*.md"), *ROOT.glob("docs/*.md"),
                  *ROOT.glob("course/*.md"), ROOT / "probes" / "SOURCES.md"])
SOURCES = [f for f in SOURCES if f.name != "test_pointers.py"]  # this file's examples are not pointers
PATH = re.compile(r"\bdocs/[\w-]+\.md\b")
# README, "Section" / the README, "Section" / docs/X.md, "Section" / docs/X.md ("Section") / RECIPE.md, "Section"
SECTION = re.compile(r"\b(README|docs/[\w-]+\.md|[A-Z_]+\.md)(?:\.md)?,? \(?\"([^\"]+)\"")


def headings(doc: Path) -> list[str]:
    return [l.lstrip("#").strip().lower() for l in doc.read_text().splitlines() if l.startswith("#")]


def test_the_pointer_patterns_find_what_they_should():
    """The patterns below must see the pointers they check (a check that finds nothing checks nothing)."""
    assert PATH.findall("see docs/RECIPE.md and docs/STREAM.md") == ["docs/RECIPE.md", "docs/STREAM.md"]
    assert SECTION.findall('(README, "Map of the files") and docs/RESULTS.md, "How far one run moves"') == [
        ("README", "Map of the files"), ("docs/RESULTS.md", "How far one run moves")]


def test_every_docs_path_exists():
    missing = [(f.relative_to(ROOT).as_posix(), p) for f in SOURCES for p in PATH.findall(f.read_text()) if not (ROOT / p).exists()]
    assert not missing, missing
    assert sum(len(PATH.findall(f.read_text())) for f in SOURCES) > 50  # the scan sees the pointers


def test_every_cited_section_exists():
    bad, seen = [], 0
    for f in SOURCES:
        for doc, section in SECTION.findall(f.read_text()):
            target = ROOT / "README.md" if doc == "README" else ROOT / doc if doc.startswith("docs/") else ROOT / "docs" / doc
            if not target.exists():
                continue  # not one of ours (a file name in a quotation); the paths test covers docs/
            seen += 1
            if not any(h.startswith(section.lower()) for h in headings(target)):
                bad.append(f"{f.relative_to(ROOT)} cites {doc}, \"{section}\"")
    assert not bad, "\n".join(bad)
    assert seen > 10
