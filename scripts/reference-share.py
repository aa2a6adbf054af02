#!/usr/bin/env python3
"""How much of a numeric run goes to the float64 references, measured with perf.

    scripts/reference-share.py [--binary PATH] [--frequency HZ] -- run ARGS...

runs `attnsim ARGS` (a `run ... --mode numeric` command) under `perf record -g` and sorts
every sample by its call stack: a sample is the reference's when some frame of its stack
is a float64 reference of AttnNumerics (a type whose name ends in `Reference`, or the
`HeadPanels` of the attention reference) or the TileInterpreter `Verifier` that calls
them; every other sample (the count pass that sizes the run, the input generation, the
replay) is the rest's. The references run after the replay, on all cores, so the wall
time of the reference is the span between its first and last sample, and the rest's is
the span of all samples less that one (process start before the first sample is left
out). Prints one line:

    wall 12.3 s | reference wall 4.1 s, cpu 8.0 s (61%) | rest wall 8.0 s, cpu 5.1 s | ratio wall 0.51, cpu 1.57

with the reference's wall and CPU time over the rest's; the CPU ratio is the steadier on
a machine shared with other work. Needs Linux perf (software
cpu-clock sampling is enough); the run's own output is discarded.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

REFERENCE = re.compile(r"AttnNumerics\d+[A-Za-z0-9]*Reference|AttnNumerics\d+HeadPanels|TileInterpreter\d+Verifier")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default=".build/release/attnsim")
    parser.add_argument("--frequency", type=int, default=499, help="samples per second per core")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    args = options.args[1:] if options.args[:1] == ["--"] else options.args
    if not args:
        parser.error("give the attnsim arguments after --")
    with tempfile.TemporaryDirectory() as folder:
        data = os.path.join(folder, "perf.data")
        start = time.monotonic()
        subprocess.run(
            ["perf", "record", "-q", "-F", str(options.frequency), "-g", "-o", data, options.binary, *args],
            stdout=subprocess.DEVNULL, check=True)
        wall = time.monotonic() - start
        script = subprocess.run(
            ["perf", "script", "-i", data, "-F", "time,ip,sym"], capture_output=True, text=True, check=True).stdout
    samples = reference = 0
    first = last = None
    begin = end = None
    for block in script.split("\n\n"):
        lines = block.strip().splitlines()
        if not lines:
            continue
        samples += 1
        stamp = float(lines[0].strip().rstrip(":"))
        begin = stamp if begin is None else min(begin, stamp)
        end = stamp if end is None else max(end, stamp)
        if any(REFERENCE.search(line) for line in lines[1:]):
            reference += 1
            first = stamp if first is None else min(first, stamp)
            last = stamp if last is None else max(last, stamp)
    if samples == 0:
        sys.exit("perf recorded no samples")
    cpu = samples / options.frequency
    referenceCPU = reference / options.frequency
    referenceWall = (last - first) if first is not None else 0.0
    restWall = (end - begin) - referenceWall
    restCPU = cpu - referenceCPU
    print(
        f"wall {wall:.2f} s | reference wall {referenceWall:.2f} s, cpu {referenceCPU:.2f} s ({100 * reference / samples:.0f}%)"
        f" | rest wall {restWall:.2f} s, cpu {restCPU:.2f} s"
        f" | ratio wall {referenceWall / max(restWall, 1e-9):.2f}, cpu {referenceCPU / max(restCPU, 1e-9):.2f}")


if __name__ == "__main__":
    main()
