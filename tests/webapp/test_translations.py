"""The Vietnamese catalog (the default locale) is complete, keeps every placeholder, and its compiled .mo is current.

The catalog template is re-extracted from the source with the very command of the Makefile target `translations`, so
a string added anywhere in the code without a translation fails here rather than showing up in English.
"""

from __future__ import annotations

import gettext
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "webapp" / "translations"
PO_FILE = TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.po"
MO_FILE = TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.mo"

# %(name)s, %(num)d, %s, %.2f … ("%%" is a literal percent sign, not a placeholder).
PERCENT_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa]")
# {name}, {0}, {} , {name!r:>10} ("{{" and "}}" are literal braces).
BRACE_PLACEHOLDER = re.compile(r"(?<!\{)\{[^{}]*\}(?!\})")


def _makefile_variables(text: str) -> dict[str, str]:
    variables = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\s*[:?]?=\s*(.*)$", line)
        if match:
            variables[match.group(1)] = match.group(2).strip()
    return variables


def _extract_command(output: Path) -> list[str]:
    """The `pybabel extract` line of the Makefile target `translations`, writing to `output` instead."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    variables = _makefile_variables(text)
    recipe = re.search(r"^translations:.*\n((?:\t.*\n?)+)", text, re.MULTILINE)
    assert recipe, "the Makefile has no `translations` target"
    lines = [line.strip() for line in recipe.group(1).splitlines() if "pybabel extract" in line]
    assert len(lines) == 1, f"expected one `pybabel extract` line in `make translations`, found {lines}"
    line = lines[0]
    for _ in range(10):  # variables may refer to variables: $(BIN) is $(VENV)/bin
        line = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m.group(1), m.group(0)), line)
    words = shlex.split(line)
    assert words[0].endswith("pybabel") and words[1] == "extract", line
    arguments = words[2:]
    assert not any("$" in word for word in arguments), f"unresolved Makefile variable in: {line}"
    position = arguments.index("-o")
    arguments[position + 1] = str(output)
    return [sys.executable, "-m", "babel.messages.frontend", "extract", *arguments]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    output = tmp_path_factory.mktemp("translations") / "messages.pot"
    command = _extract_command(output)
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{shlex.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    with output.open("rb") as f:
        return read_po(f)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    with PO_FILE.open("rb") as f:
        return read_po(f, locale="vi")


def _strings(message: Message) -> tuple[str, ...]:
    return tuple(message.string) if isinstance(message.string, (list, tuple)) else (message.string,)


def _ids(message: Message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, (list, tuple)) else (message.id,)


def _translated(catalog: Catalog) -> Iterator[Message]:
    for message in catalog:
        if message.id and any(_strings(message)):
            yield message


def _placeholders(text: str) -> tuple[set[str], set[str]]:
    # Drop the literal "%%" first: in "%% of" the regex would otherwise read "% o" as a placeholder.
    return set(PERCENT_PLACEHOLDER.findall(text.replace("%%", ""))), set(BRACE_PLACEHOLDER.findall(text))


def test_every_extracted_msgid_has_a_vietnamese_translation(template: Catalog, catalog: Catalog) -> None:
    assert len(template) > 0, "the extraction found no messages"
    missing = []
    for entry in template:
        if not entry.id:
            continue
        translated = catalog.get(entry.id, context=entry.context)
        if (
            translated is None
            or translated.fuzzy
            or translated.pluralizable != entry.pluralizable
            or not all(s.strip() for s in _strings(translated))
        ):
            missing.append(_ids(entry)[0])
    assert not missing, (
        f"{len(missing)} msgid(s) have no Vietnamese translation in {PO_FILE.relative_to(ROOT)} "
        "(missing, empty or fuzzy) — run `make translations` and translate them:\n"
        + "\n".join(f"  {msgid!r}" for msgid in missing)
    )


def test_the_catalog_declares_the_vietnamese_plural_form(catalog: Catalog) -> None:
    # Read the header itself: without one, babel would silently fall back on the locale's defaults.
    header = re.match(r'(?:#.*\n)*msgid ""\nmsgstr ""\n((?:".*"\n)+)', PO_FILE.read_text(encoding="utf-8"))
    assert header, f"{PO_FILE.relative_to(ROOT)} has lost its header (`pybabel update --omit-header` removes it)"
    assert '"Plural-Forms: nplurals=1; plural=0;\\n"' in header.group(1), header.group(1)
    for message in _translated(catalog):
        if message.pluralizable:
            assert len(_strings(message)) == 1, f"Vietnamese has one plural form: {message.id!r}"


def test_translations_keep_the_placeholders_of_their_msgid(catalog: Catalog) -> None:
    wrong = []
    for message in _translated(catalog):
        percent: set[str] = set()
        brace: set[str] = set()
        for msgid in _ids(message):
            msgid_percent, msgid_brace = _placeholders(msgid)
            percent |= msgid_percent
            brace |= msgid_brace
        for string in _strings(message):
            if _placeholders(string) != (percent, brace):
                wrong.append(f"  {_ids(message)[0]!r} → {string!r}")
    assert not wrong, "translations whose placeholders differ from their msgid:\n" + "\n".join(wrong)


def test_the_compiled_catalog_is_up_to_date(catalog: Catalog) -> None:
    assert MO_FILE.exists(), "messages.mo is missing — run `pybabel compile -d webapp/translations -l vi`"
    expected = BytesIO()
    write_mo(expected, catalog)
    expected.seek(0)
    with MO_FILE.open("rb") as f:
        committed = gettext.GNUTranslations(f)
    compiled = gettext.GNUTranslations(expected)
    stale = sorted(
        repr(key)
        for key in compiled._catalog.keys() | committed._catalog.keys()
        if compiled._catalog.get(key) != committed._catalog.get(key)
    )
    assert not stale, (
        "messages.mo does not match messages.po — run `pybabel compile -d webapp/translations -l vi`; differing: "
        + ", ".join(stale[:20])
    )
