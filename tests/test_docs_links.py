"""The README a newcomer reads in five minutes (issue 26): at most 10 KB, the two set-up commands as CI runs them,
and every relative link of README.md and docs/*.md leads to a file or folder of the repository."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
GALLERY = 'pip install -e ".[gallery]" && rnn-widgets gallery'
TESTS = 'pip install -e ".[test]" && python -m pytest'

#: [text](target) and ![alt](target), the target up to a space or the closing parenthesis
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def relative_links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)  # code blocks are not links
    return [t for t in LINK.findall(text) if not re.match(r"^([a-z][a-z0-9+.-]*:|#)", t, re.IGNORECASE)]


def test_readme_is_short_and_keeps_the_two_commands():
    size = len(README.read_bytes())
    assert size <= 10_000, f"README.md is {size} bytes: move detail to docs/"
    text = README.read_text(encoding="utf-8")
    assert f"```bash\n{GALLERY}\n```" in text and f"```bash\n{TESTS}\n```" in text
    assert TESTS in (ROOT / ".ci" / "run").read_text()  # CI runs the README's test command verbatim
    for doc in ("docs/static-pages.md", "docs/course-site.md", "docs/teaching-a-class.md", "docs/core.md",
                "docs/benchmarks.md", "docs/deploy-jupyterhub.md"):
        assert f"]({doc})" in text, f"the README links to {doc}"


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(path):
    links = relative_links(path)
    broken = [t for t in links if not (path.parent / t.split("#", 1)[0]).resolve().exists()]
    assert not broken, f"{path.relative_to(ROOT)}: links to nothing: {broken}"


def test_the_link_finder_finds_links():
    assert relative_links(README), "no relative link found in README.md: the pattern is broken"
    assert "docs/screenshot.png" in relative_links(README)


def test_the_documented_embed_snippet_is_the_one_exported():
    from rnn_widgets.export import EMBED_SNIPPET

    script = EMBED_SNIPPET.split("\n", 1)[1].rsplit("\n", 1)[0]
    body = script.split("\n", 1)[1]  # after the comment line
    assert body in (ROOT / "docs" / "static-pages.md").read_text(encoding="utf-8")
