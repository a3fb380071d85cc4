#!/usr/bin/env python3
"""Write (or check) the table of replay states x checks in a lab's README.

    scripts/replay_table.py LAB [LAB ...]     rewrite the block between the markers
    scripts/replay_table.py --check LAB ...   exit 1 if a README's table is not the replay's

The table sits between ``<!-- replay-table -->`` and ``<!-- /replay-table -->``; it is made
from ``labs/<lab>/replay.py`` so what the README shows is what the replay tests assert.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import replay  # noqa: E402

BEGIN, END = "<!-- replay-table -->", "<!-- /replay-table -->"


def block(lab: str) -> str:
    rp = replay.load(lab)
    if rp is None:
        raise SystemExit(f"lab {lab} has no replay (labs/{lab}/replay.py)")
    checks, requires = replay.checks_of(lab)
    return f"{BEGIN}\n{replay.markdown_table(rp, checks, requires)}\n{END}"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    labs = [a for a in argv if not a.startswith("--")]
    bad = 0
    for lab in labs:
        readme = Path(__file__).resolve().parents[1] / "labs" / lab / "README.md"
        text = readme.read_text() if readme.exists() else f"# {lab}\n"
        new = block(lab)
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            updated = head + new + rest.split(END, 1)[1]
        else:
            updated = text.rstrip("\n") + "\n\n## Replay states and expected outcomes\n\n" + new + "\n"
        if check:
            if updated != text:
                print(f"{readme}: the replay table is out of date (run scripts/replay_table.py {lab})")
                bad = 1
        else:
            readme.write_text(updated)
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
