"""Nothing the cloud writes to a reader is a bare English sentence: an error a request can
meet, a validator's message and an activity entry are catalog texts (``cloud.platform.texts``),
so a Spanish student reads Spanish. Read from the source, so a new English message fails here
before any reader sees it.

Left out on purpose: what only an operator reads (settings, the CLI and server runtime,
migrations) and what never reaches HTTP (MQTT ingest refusals, background processes)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLOUD = ROOT / "cloud"

OPERATOR_ONLY = (
    "cloud/platform/settings.py",
    "cloud/platform/storage/",
    "cloud/platform/texts/",
    "cloud/runtime/",
    "cloud/processes/",
    "cloud/domain/ingest/",
)


def _sources() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(CLOUD.rglob("*.py")):
        where = path.relative_to(ROOT).as_posix()
        if not where.startswith(OPERATOR_ONLY):
            yield where, ast.parse(path.read_text(encoding="utf-8"))


def _error_classes() -> set[str]:
    """CloudError and every class that derives from it anywhere in the cloud."""
    found = {"CloudError"}
    classes = [
        node
        for path in CLOUD.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef)
    ]
    grew = True
    while grew:
        grew = False
        for node in classes:
            bases = {base.id for base in node.bases if isinstance(base, ast.Name)}
            if node.name not in found and bases & found:
                found.add(node.name)
                grew = True
    return found


def _is_words(node: ast.expr | None, worded: frozenset[str] = frozenset()) -> bool:
    """A literal sentence: a string, an f-string, strings joined with +, or a local name that
    one of those was assigned to (``worded``)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and " " in node.value
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _is_words(node.left, worded) or _is_words(node.right, worded)
    if isinstance(node, ast.IfExp):
        return _is_words(node.body, worded) or _is_words(node.orelse, worded)
    return isinstance(node, ast.Name) and node.id in worded


def _scopes(tree: ast.Module) -> Iterator[tuple[ast.AST, frozenset[str]]]:
    """Each function (and the module) with the local names assigned a literal sentence in it."""
    for scope in [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef))]:
        worded = {
            target.id
            for node in ast.walk(scope)
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign)
            and node.value is not None
            and _is_words(node.value)
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name)
        }
        yield scope, frozenset(worded)


def _called(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name):
            return node.func.id
        if isinstance(node.func, ast.Attribute):
            return node.func.attr
    return None


def test_errors_a_request_can_meet_are_catalog_texts() -> None:
    errors = _error_classes()
    assert {"Conflict", "NotFound", "TargetRefused"} <= errors
    english: set[str] = set()
    for where, tree in _sources():
        for scope, worded in _scopes(tree):
            for node in ast.walk(scope):
                if isinstance(node, ast.Raise) and node.exc is not None and _called(node.exc) in errors:
                    call = node.exc
                    assert isinstance(call, ast.Call)
                    if call.args and _is_words(call.args[0], worded):
                        english.add(f"{where}:{node.lineno}")
    assert not english, f"errors raised with English words instead of text(...): {sorted(english)}"


def test_validators_raise_catalog_texts() -> None:
    """A pydantic validator's ``ValueError("...")`` reaches the 422 body in English only;
    ``texts.invalid(key)`` is rendered per reader."""
    english: set[str] = set()
    for where, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and node.exc is not None and _called(node.exc) == "ValueError":
                call = node.exc
                assert isinstance(call, ast.Call)
                if call.args and _is_words(call.args[0]) and "schemas" in where:
                    english.add(f"{where}:{node.lineno}")
    assert not english, f"validators raising English words instead of invalid(...): {sorted(english)}"


def test_activity_entries_are_catalog_texts() -> None:
    english: set[str] = set()
    for where, tree in _sources():
        for scope, worded in _scopes(tree):
            for node in ast.walk(scope):
                if isinstance(node, ast.Call) and _called(node) == "record_activity":
                    message = node.args[2] if len(node.args) > 2 else None
                    if _is_words(message, worded):
                        english.add(f"{where}:{node.lineno}")
    assert not english, f"activity entries written in English instead of text(...): {sorted(english)}"


NOTIFICATION_WORDS = {"notify": (3, 4), "notify_staff": (2, 3)}
"""Where a notification's title and body sit among each sender's positional arguments."""


def test_notification_titles_and_bodies_are_catalog_texts() -> None:
    english: set[str] = set()
    for where, tree in _sources():
        for scope, worded in _scopes(tree):
            for node in ast.walk(scope):
                if isinstance(node, ast.Call) and _called(node) in NOTIFICATION_WORDS:
                    places = NOTIFICATION_WORDS[str(_called(node))]
                    said = [node.args[i] for i in places if i < len(node.args)]
                    said += [k.value for k in node.keywords if k.arg in {"title", "body"}]
                    if any(_is_words(value, worded) for value in said):
                        english.add(f"{where}:{node.lineno}")
    assert not english, f"notifications written in English instead of text(...): {sorted(english)}"
