#!/usr/bin/env python3
"""Write (or check) the table of replay states x checks in a lab's README.

    scripts/replay_table.py LAB [LAB ...]     rewrite the block between the markers
    scripts/replay_table.py --check LAB ...   exit 1 if a README's table is not the replay's
    scripts/replay_table.py --summary [LAB ...]  one line per lab: checks, and how many FAIL per state

The table sits between ``<!-- replay-table -->`` and ``<!-- /replay-table -->``; it is made
from ``labs/<lab>/replay.py`` so what the README shows is what the replay tests assert.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.core import replay  # noqa: E402

BEGIN, END = "<!-- replay-table -->", "<!-- /replay-table -->"


def block(lab: str) -> str:
    rp = replay.load(lab)
    if rp is None:
        raise SystemExit(f"lab {lab} has no replay (labs/{lab}/replay.py)")
    checks, requires = replay.checks_of(lab)
    return f"{BEGIN}\n{replay.markdown_table(rp, checks, requires)}\n{END}"


def summary(labs: list[str]) -> str:
    from harness.core import catalog

    lines = ["| lab | checks | fresh FAIL | complete FAIL | mistakes (each: FAILs) | all mistakes FAIL | unreachable ERROR | adaptations |",
             "|---|---|---|---|---|---|---|---|"]
    for lab in labs or list(catalog.all_labs()):
        rp = replay.load(lab)
        if rp is None:
            lines.append(f"| {lab} | no replay | | | | | | |")
            continue
        checks, requires = replay.checks_of(lab)
        table = replay.expected_outcomes(rp, checks, requires)
        fails = {state: sum(v.startswith("FAIL") for v in row.values()) for state, row in table.items()}
        each = ", ".join(f"{m.name}: {len(m.fails)}" for m in rp.mistakes)
        lines.append(f"| {lab} | {len(checks)} | {fails[replay.FRESH]} | {fails[replay.COMPLETE]} | {each} | "
                     f"{fails.get(replay.ALL_MISTAKES, '-')} | {len(checks)} | {len(rp.adaptations)} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if "--summary" in argv:
        print(summary([a for a in argv if not a.startswith("--")]))
        return 0
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
