"""The French catalog: every message translated, and the committed ``.mo`` compiled from the
``.po`` as it is now (``pybabel compile -D django -d orders/locale -l fr`` after an edit)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

MESSAGES = Path(__file__).resolve().parents[1] / "orders/locale/fr/LC_MESSAGES"


def translations(catalog: object) -> dict[object, object]:
    return {message.id: message.string for message in catalog if message.id}  # type: ignore[attr-defined]


def test_every_message_has_a_french_translation() -> None:
    with (MESSAGES / "django.po").open("rb") as po:
        catalog = read_po(po)
    assert [m.id for m in catalog if m.id and not m.string] == []
    assert len(catalog) > 10


def test_the_compiled_catalog_is_up_to_date() -> None:
    with (MESSAGES / "django.po").open("rb") as po, (MESSAGES / "django.mo").open("rb") as mo:
        assert translations(read_mo(mo)) == translations(read_po(po)), (
            "django.mo is out of date: run `pybabel compile -D django -d orders/locale -l fr`"
        )
