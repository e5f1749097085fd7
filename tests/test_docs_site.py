"""The README's links lead somewhere: a docs page it names is in the site's navigation (and
`mkdocs build --strict` in `make docs` fails on a navigation entry without its page); any other
relative link names a file or folder of the repository."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def nav_pages(entries: object) -> set[str]:
    """Every page file named in mkdocs.yml's nav, at any depth."""
    if isinstance(entries, str):
        return {entries}
    if isinstance(entries, list):
        return set().union(*(nav_pages(entry) for entry in entries))
    if isinstance(entries, dict):
        return set().union(*(nav_pages(value) for value in entries.values()))
    return set()


def site_config() -> dict:
    """mkdocs.yml without its `!!python/name:` tags (only the nav is read here)."""
    text = (REPO_ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    return yaml.safe_load(re.sub(r"!!python/name:\S+", "null", text))


def readme_links() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    return [target for target in LINK.findall(text) if "://" not in target]


def test_readme_links_docs_pages_that_the_site_navigates() -> None:
    """Each docs/*.md the README links to is a navigation entry of the site."""
    pages = nav_pages(site_config()["nav"])
    docs = [target for target in readme_links() if target.startswith("docs/")]
    linked = {target.removeprefix("docs/") for target in docs}
    assert linked, "the README links to no documentation page"
    assert linked <= pages, sorted(linked - pages)


def test_readme_links_to_repository_files_exist() -> None:
    """Links outside docs/ (CONTRIBUTING.md, LICENSE, ...) name files that exist."""
    others = [target for target in readme_links() if not target.startswith("docs/")]
    missing = [target for target in others if not (REPO_ROOT / target).exists()]
    assert not missing, missing


def test_every_docs_page_is_in_the_navigation_or_awaits_folding() -> None:
    """A page under docs/ is either navigated or a README section waiting in docs/_from-readme/."""
    pages = nav_pages(site_config()["nav"])
    on_disk = {
        str(path.relative_to(REPO_ROOT / "docs"))
        for path in (REPO_ROOT / "docs").rglob("*.md")
        if "_from-readme" not in path.parts
    }
    assert on_disk <= pages, sorted(on_disk - pages)
