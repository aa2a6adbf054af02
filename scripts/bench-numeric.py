#!/usr/bin/env python3
"""Numeric replay against numpy, side by side on one machine (issue "Speed", item 2).

Runs `attnsim run --mode numeric` (release build) on FlashAttention-2, fp32, and numpy's
single-thread attention (S = Q K^T / sqrt(d), softmax, O = P V) on the same shape, the
two alternating round by round, and prints both times (best of --repeat rounds), their
ratio, attnsim's CPU time (it runs on all cores) and the load average (other work on the
machine slows both sides). numpy is used here only, as a yardstick; the package never
depends on it.

    scripts/bench-numeric.py [--heads 8] [--n 2048] [--d 64] [--repeat 5] [--binary PATH]
"""
import argparse, os, subprocess, sys, time

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--n", type=int, default=2048)
    parser.add_argument("--d", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--binary", help="time this attnsim binary instead of building the release one "
                        "(e.g. an older build, for a before/after comparison)")
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if args.binary:
        binary = args.binary
    else:
        subprocess.run(["swift", "build", "-c", "release", "--product", "attnsim"], cwd=root, check=True,
                       stdout=subprocess.DEVNULL)
        binary = os.path.join(root, ".build", "release", "attnsim")
    command = [binary, "run", "--algorithm", "flash2", "--heads", str(args.heads), "--head-dim", str(args.d),
               "--context", str(args.n), "--mode", "numeric", "--dtype", "fp32", "--format", "csv"]
    # numpy on one thread; the OpenBLAS overrides some machines set slow it down.
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(name, None)
    # One numpy process per round, timing two passes (the first warms its caches).
    code = f"""
import time, numpy as np
rng = np.random.default_rng(1)
h, n, d = {args.heads}, {args.n}, {args.d}
q, k, v = (rng.standard_normal((h, n, d), dtype=np.float32) for _ in range(3))
best = 1e9
for _ in range(2):
    t = time.perf_counter()
    s = q @ k.transpose(0, 2, 1) / np.float32(np.sqrt(d))
    s -= s.max(axis=-1, keepdims=True)
    p = np.exp(s); p /= p.sum(axis=-1, keepdims=True)
    o = p @ v
    best = min(best, time.perf_counter() - t)
print(best)
"""
    # The two sides alternate, round by round, so that a change in the machine's load
    # during the measurement reaches both alike; each keeps its best round.
    runs, numpy_times = [], []
    for _ in range(args.repeat):
        runs.append(timed_process(command))
        numpy_times.append(float(subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                                capture_output=True, text=True).stdout))
    best_sim = min(wall for wall, _ in runs)
    best_sim_cpu = min(cpu for _, cpu in runs)
    best_numpy = min(numpy_times)
    print(f"shape: heads {args.heads}, N {args.n}, d {args.d}, fp32; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"attnsim numeric (flash2, whole process, checks included): {best_sim:.3f} s (CPU time {best_sim_cpu:.2f} s)")
    print(f"numpy single-thread attention:                          {best_numpy:.3f} s")
    print(f"ratio: {best_sim / best_numpy:.1f}x")

def timed_process(command):
    """Wall-clock and CPU (user + system) seconds of one run of `command`."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(command)} failed")
    return wall, usage.ru_utime + usage.ru_stime

if __name__ == "__main__":
    main()
