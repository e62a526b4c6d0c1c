"""docs/index.md's page table lists every page of the site's navigation (mkdocs.yml), so a new
page cannot be left out of the one overview a reader starts from."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


def _nav_pages(entries: Any) -> list[str]:
    if isinstance(entries, str):
        return [entries]
    if isinstance(entries, list):
        return [page for entry in entries for page in _nav_pages(entry)]
    if isinstance(entries, dict):
        return [page for value in entries.values() for page in _nav_pages(value)]
    return []


def test_the_index_page_table_lists_every_nav_page() -> None:
    nav = _nav_pages(yaml.safe_load((REPO / "mkdocs.yml").read_text())["nav"])
    index = (REPO / "docs/index.md").read_text()
    table = index.split("## Pages\n", 1)[1].split("\n## ", 1)[0]
    linked = set(re.findall(r"\]\(([^)#]+\.md)\)", table))

    assert len(nav) > 20
    assert [page for page in nav if page != "index.md" and page not in linked] == []
    assert sorted(linked - set(nav)) == [], "the table links only pages of the site"
