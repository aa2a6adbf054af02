#!/usr/bin/env python3
"""Rewrites the command outputs shown in README.md from the current build.

A shown output sits between `<!-- output: attnsim ARGS -->` and `<!-- end output -->`, as a
```text block holding exactly what `attnsim ARGS` prints (run from the repository's root).
RepositoryTests fails when one differs from the build's output; this rewrites them:

    python3 scripts/readme-outputs.py [BINARY]     default .build/debug/attnsim (swift build first)
"""

import os
import re
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATTERN = re.compile(r"(<!-- output: attnsim (?P<args>[^>]*?) -->\n```text\n)(?P<body>.*?)(```\n<!-- end output -->)", re.S)


def main(argv):
    if len(argv) > 1 and argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if len(argv) > 2:
        print("usage: python3 scripts/readme-outputs.py [BINARY]", file=sys.stderr)
        return 64
    binary = argv[1] if len(argv) > 1 else os.path.join(ROOT, ".build", "debug", "attnsim")
    if not os.access(binary, os.X_OK):
        print("error: no attnsim binary at %s (run swift build first, or give its path)" % binary, file=sys.stderr)
        return 1
    path = os.path.join(ROOT, "README.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()

    def replace(match):
        args = shlex.split(match.group("args"))
        out = subprocess.run([binary] + args, cwd=ROOT, check=True, capture_output=True, text=True).stdout
        return match.group(1) + out + match.group(4)

    updated, count = PATTERN.subn(replace, text)
    if updated != text:
        with open(path, "w", encoding="utf-8") as f:
            f.write(updated)
    print("README.md: %d output%s checked, %s" % (count, "" if count == 1 else "s", "rewritten" if updated != text else "unchanged"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
