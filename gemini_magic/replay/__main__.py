"""Inspect a record file: ``python -m gemini_magic.replay list|show|prune FILE``.

python -m gemini_magic.replay list report.gemini.sqlite
python -m gemini_magic.replay show report.gemini.sqlite 3fa2c1      # a key, or its first characters
python -m gemini_magic.replay prune report.gemini.sqlite --unused-days 30 [--dry-run]
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import sys

from ..errors import RecordFileError
from .store import Record, Store

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _safe(text) -> str:
    """Record text for a terminal: no escape sequences or other control characters."""
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", str(text))


def _prompt(record: Record, limit: int = 60) -> str:
    text = " ".join("".join(p.get("text", "[image]") for p in record.request["parts"]).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _list(store: Store, out) -> int:
    records = list(store.records())
    print(f"{len(records)} recorded answer{'s' if len(records) != 1 else ''} in {store.path}", file=out)
    for record in records:
        answer = record.answer
        print(
            _safe(
                f"{record.key[:12]}  {record.recorded_at}  {answer['model']:<28}  {len(answer['text']):>7,} chars  "
                f"{_prompt(record)}"
            ),
            file=out,
        )
    return 0


def _show(store: Store, key: str, out) -> int:
    found = store.find(key)
    if len(found) != 1:
        print(f"{'no' if not found else len(found)} records with a key starting {key!r}", file=sys.stderr)
        return 1
    record = found[0]
    request, answer = record.request, record.answer
    options = {k: v for k, v in request["options"].items() if v not in (None, False)}
    lines = [
        f"key          {record.key}",
        f"recorded     {record.recorded_at}",
        f"last used    {record.used_at}",
        f"model        {request['model']} (answered by {answer['model']})",
        f"options      {options or 'none'}",
        f"system       {request['system'] or 'none'}",
        f"history      {len(request['history'])} earlier turns",
        f"usage        {answer['usage']}",
        "",
        "--- prompt ---",
    ]
    lines += [
        part["text"] if "text" in part else f"[{part['inline']['mime_type']}, {part['inline']['bytes']:,} bytes]"
        for part in request["parts"]
    ]
    lines += ["", "--- answer ---", answer["text"]]
    print(_safe("\n".join(lines)), file=out)
    return 0


def _prune(store: Store, days: float, dry_run: bool, out) -> int:
    cutoff = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    old = [record.key for record in store.records() if record.used_at <= cutoff]
    if dry_run:
        print(f"would remove {len(old)} of {store.count()} records not used for {days:g} days", file=out)
        return 0
    store.delete(old)
    store.compact()
    print(f"removed {len(old)} records not used for {days:g} days; {store.count()} left", file=out)
    return 0


def main(argv=None, out=sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m gemini_magic.replay", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="one line per recorded answer").add_argument("file")
    show = commands.add_parser("show", help="one record: its request and answer")
    show.add_argument("file")
    show.add_argument("key", help="the key, or its first characters (as list shows them)")
    prune = commands.add_parser("prune", help="remove records not replayed or recorded for a while")
    prune.add_argument("file")
    prune.add_argument("--unused-days", type=float, default=90, help="remove records unused for this long (90)")
    prune.add_argument("--dry-run", action="store_true", help="only say how many would go")
    args = parser.parse_args(argv)
    if not os.path.exists(args.file):
        print(f"no record file at {args.file}", file=sys.stderr)
        return 1
    try:
        store = Store(args.file)
    except RecordFileError as error:
        print(error, file=sys.stderr)
        return 1
    try:
        if args.command == "list":
            return _list(store, out)
        if args.command == "show":
            return _show(store, args.key, out)
        return _prune(store, args.unused_days, args.dry_run, out)
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
