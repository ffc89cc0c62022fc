"""The catalogs: every language has the same keys with the same ``{params}``; every key the web
app (its modules, index.html, display.html) or the server's notifications use exists; none is
left unused; and index.html has no visible words outside the catalog."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

from cloud.platform.languages import SUPPORTED

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "cloud" / "api" / "web" / "static"
SERVER = ROOT / "cloud" / "platform" / "texts" / "catalog"
PARAM = re.compile(r"\{(\w+)\}")


def load(folder: Path, language: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((folder / f"{language}.json").read_text(encoding="utf-8"))
    return loaded


def params(value: Any) -> set[str]:
    """The ``{names}`` a text fills in (a plural: those of all its forms; ``{Machine}`` is
    ``{machine}`` at the start of a sentence)."""
    forms = value.values() if isinstance(value, dict) else [value]
    return {name[:1].lower() + name[1:] for form in forms for name in PARAM.findall(form)}


@pytest.mark.parametrize("folder", [STATIC / "i18n", SERVER], ids=["web", "notifications"])
def test_every_language_has_the_same_keys_and_params(folder: Path) -> None:
    english = load(folder, "en")
    for language in SUPPORTED:
        other = load(folder, language)
        assert set(other) == set(english), (
            f"{language}: missing {set(english) - set(other)}, extra {set(other) - set(english)}"
        )
        for key, value in english.items():
            assert params(other[key]) == params(value), f"{language} {key}: {other[key]!r} vs {value!r}"
            if isinstance(value, dict) or isinstance(other[key], dict):
                assert isinstance(other[key], dict) and "other" in other[key], (
                    f"{language} {key}: a plural needs 'other'"
                )
            assert other[key], f"{language} {key} is empty"


# --- the web app --------------------------------------------------------------------------

MODULES = sorted(p for p in STATIC.glob("*.js") if p.name != "sw.js")
PAGES = [STATIC / "index.html", STATIC / "display.html"]
STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
TEMPLATE_KEY = re.compile(r"\bt\(`([^`]*)`")


def web_keys_used() -> tuple[set[str], list[re.Pattern[str]]]:
    """Literal keys (any string in a module that is shaped like one of our keys, or an HTML
    marker), and the patterns of keys made in code (t(`waitlist.${kind}_join`))."""
    namespaces = {key.split(".")[0] for key in load(STATIC / "i18n", "en")}
    shaped = re.compile(rf"^(?:{'|'.join(sorted(namespaces))})\.[a-z0-9_.]+$")
    literal: set[str] = set()
    patterns: list[re.Pattern[str]] = []
    for module in MODULES:
        source = module.read_text(encoding="utf-8")
        literal |= {s for s in STRING.findall(source) if shaped.match(s)}
        for template in TEMPLATE_KEY.findall(source):
            parts = re.split(r"\$\{[^}]*\}", template)
            patterns.append(re.compile("^" + "[a-z0-9_]+".join(map(re.escape, parts)) + "$"))
    router = (STATIC.parent / "router.py").read_text(encoding="utf-8")  # the manifest's words
    literal |= {s for s in STRING.findall(router) if shaped.match(s)}
    for page in PAGES:
        html = page.read_text(encoding="utf-8")
        literal |= set(re.findall(r'data-i18n="([^"]+)"', html))
        for attrs in re.findall(r'data-i18n-attr="([^"]+)"', html):
            literal |= {pair.split(":")[1].strip() for pair in attrs.split(";")}
    return literal, patterns


def test_every_key_the_web_app_uses_exists() -> None:
    english = load(STATIC / "i18n", "en")
    literal, patterns = web_keys_used()
    assert not literal - set(english), f"used but not in en.json: {sorted(literal - set(english))}"
    for pattern in patterns:
        assert any(pattern.match(key) for key in english), f"no key matches {pattern.pattern}"


def test_no_web_key_is_unused() -> None:
    literal, patterns = web_keys_used()
    unused = [
        key for key in load(STATIC / "i18n", "en") if key not in literal and not any(p.match(key) for p in patterns)
    ]
    assert not unused, f"in en.json but never used: {unused}"


SET_IN_CODE = {"KY Wash", "API", "English", "Español"}
"""Words index.html may carry unmarked: the name, a link's label, each language's own name,
and texts that a module replaces at start (their ids are below)."""
FILLED_BY_CODE = {"done-title", "login-submit", "report-title", "service-title"}


def test_index_html_has_no_words_outside_the_catalog() -> None:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    stray = []
    for match in re.finditer(r"<(\w+)([^>]*)>([^<]*[A-Za-z][^<]*)<", html):
        tag_attrs, words = match.group(2), match.group(3).strip()
        element_id = re.search(r'id="([^"]+)"', tag_attrs)
        if "data-i18n=" in tag_attrs or words in SET_IN_CODE or (element_id and element_id.group(1) in FILLED_BY_CODE):
            continue
        stray.append(words)
    assert not stray, f"index.html words not in the catalog: {stray}"


# --- notifications ------------------------------------------------------------------------


def server_keys_used() -> tuple[set[str], list[re.Pattern[str]]]:
    """String constants (and f-string patterns) in the cloud's Python that are catalog keys."""
    literal: set[str] = set()
    patterns: list[re.Pattern[str]] = []
    for path in (ROOT / "cloud").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                literal.add(node.value)
            elif isinstance(node, ast.JoinedStr):
                parts = [re.escape(v.value) if isinstance(v, ast.Constant) else "[a-z0-9_]+" for v in node.values]
                patterns.append(re.compile("^" + "".join(parts) + "$"))
    return literal, patterns


def text_calls() -> list[tuple[str, ast.expr]]:
    """Where ``text(key, ...)`` is called, and its key argument."""
    calls = []
    for path in (ROOT / "cloud").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        if (
            "from cloud.domain.notifications.texts import" not in source
            and "from cloud.platform.texts import" not in source
        ):
            continue  # another text() (SQLAlchemy's)
        for node in ast.walk(ast.parse(source)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"text", "invalid"}
                and node.args
            ):
                calls.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.args[0]))
    return calls


def test_every_key_notifications_use_exists() -> None:
    english = load(SERVER, "en")
    calls = text_calls()
    assert len(calls) > 20
    for where, key in calls:
        if isinstance(key, ast.Constant):
            assert key.value in english, f"{where}: {key.value!r} is not in the catalog"
        elif isinstance(key, ast.JoinedStr):
            parts = [re.escape(v.value) if isinstance(v, ast.Constant) else "[a-z0-9_]+" for v in key.values]
            pattern = re.compile("^" + "".join(parts) + "$")
            assert any(pattern.match(k) for k in english), f"{where}: no key matches {pattern.pattern}"


def test_no_notification_key_is_unused() -> None:
    literal, patterns = server_keys_used()
    unused = [key for key in load(SERVER, "en") if key not in literal and not any(p.match(key) for p in patterns)]
    assert not unused, f"in the notifications catalog but never used: {unused}"
