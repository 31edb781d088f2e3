"""The committed OpenAPI document of the conformance API (`docs/conformance-openapi.json`).

    python -m harness.conformance.openapi           # rewrite the committed document
    python -m harness.conformance.openapi --check   # exit 1 if it differs from what the code serves

tests/test_conformance_api.py holds the committed document equal to what the app serves.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from harness.conformance.app import openapi_document

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "conformance-openapi.json"


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.conformance.openapi",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare instead of writing; exit 1 when they differ")
    parser.add_argument("--output", type=Path, default=DOCUMENT, help=f"default: {DOCUMENT}")
    args = parser.parse_args(argv)
    text = render(openapi_document())
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} differs from what the code serves; regenerate it with "
                  "`python -m harness.conformance.openapi`", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
