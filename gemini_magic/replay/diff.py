"""How a request differs from the nearest recorded one, in one short phrase (``replay = "only"`` misses)."""

from __future__ import annotations

from .key import OPTIONS, dumps


def _text(parts: list) -> str:
    return "".join(p["text"] for p in parts if "text" in p)


def _first_difference(a: str, b: str) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def _plain(value):
    if isinstance(value, dict) and set(value) == {"float"}:
        return float.fromhex(value["float"])
    return value


def _shown(value, limit: int = 40) -> str:
    value = _plain(value)
    text = value if isinstance(value, str) else "none" if value is None else dumps(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _snippet(text: str, at: int) -> str:
    return repr(_shown(text[at : at + 20], 20)) if at < len(text) else "the end"


def differences(want: dict, have: dict) -> list[str]:
    """Every way ``want`` differs from ``have`` (two request summaries), most telling first."""
    found = []
    if want.get("v") != have.get("v"):
        found.append("recorded by another version of gemini_magic")
    if want["model"] != have["model"]:
        found.append(f"model differs: {_shown(want['model'])} vs {_shown(have['model'])} recorded")
    for name in OPTIONS:
        mine, theirs = want["options"].get(name), have["options"].get(name)
        if mine != theirs:
            found.append(f"{name} differs: {_shown(mine)} vs {_shown(theirs)} recorded")
    if want["system"] != have["system"]:
        found.append("system instruction differs")
    if want["history"] != have["history"]:
        found.append(f"chat history differs ({len(want['history'])} turns vs {len(have['history'])} recorded)")
    mine, theirs = want["parts"], have["parts"]
    kinds = [("text" if "text" in p else "image") for p in mine]
    recorded_kinds = [("text" if "text" in p else "image") for p in theirs]
    if kinds != recorded_kinds:
        found.append(f"parts differ: {', '.join(kinds)} vs {', '.join(recorded_kinds)} recorded")
    elif [p for p in mine if "text" not in p] != [p for p in theirs if "text" not in p]:
        found.append("an image differs")
    a, b = _text(mine), _text(theirs)
    if a != b:
        at = _first_difference(a, b)
        found.append(f"prompt differs at character {at + 1} ({_snippet(a, at)} vs {_snippet(b, at)} recorded)")
    return found


def _distance(want: dict, have: dict) -> tuple:
    found = differences(want, have)
    a, b = _text(want["parts"]), _text(have["parts"])
    shared = _first_difference(a, b)
    return (len(found), -shared)


def nearest_difference(want: dict, recorded: list[dict]) -> str | None:
    """What separates ``want`` from the nearest of ``recorded``; None if there are none."""
    if not recorded:
        return None
    best = min(recorded, key=lambda have: _distance(want, have))
    found = differences(want, best)
    return "; ".join(found[:3]) if found else None
