#!/usr/bin/env python3
"""The runner behind scripts/bench (which checks tools, builds the shim and the
test directory first, then runs this). Standard library only.

Plan -> runs (round-robin over engines, each pair of rounds forward then reversed)
-> medians -> results.md, runs.csv, runs.json, two SVG charts.

Every fio run uses --thread (fio job processes leave with _exit, so the shim's
exit report would be lost otherwise; all engines get it so they stay
comparable) and --output-format=json. Shim runs must show, in AIO_SHIM_STATS,
that the shim served them; stress-ng workers leave with _exit too, so for
stress-ng the proof is the shim's "engine started" debug line per worker.

CPU per I/O: fio's usr_cpu/sys_cpu only cover the job thread under --thread
(not glibc's or the shim's helper threads), and fio spends ~0.2 s of CPU
starting up. So the runner samples the whole process's CPU clock
(CLOCK_PROCESS_CPUTIME of the fio pid: all threads, including finished ones)
every 20 ms and takes the slope over the steady-state window, anchored on the
process's exit: [exit - runtime + g, exit - g]. CPU per I/O = that rate / IOPS.
"""
import argparse
import csv
import datetime
import hashlib
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ALL_ENGINES = ["glibc", "shim-kaio", "shim-uring", "shim-pool", "shim-auto", "libaio", "io_uring"]
QUICK_ENGINES = ["glibc", "shim-auto", "libaio"]
DEPTHS_FULL = [1, 4, 16, 32, 64, 128, 256, 1024, 4096]
DEPTHS_QUICK = [1, 32, 256, 4096]
THREADS_FULL = [1, 2, 4, 8]
THREADS_QUICK = [1, 4]

COLORS = {
    "glibc": "#d62728", "shim-kaio": "#1f77b4", "shim-pool": "#17becf", "shim-uring": "#8c564b",
    "shim-auto": "#2ca02c", "libaio": "#ff7f0e", "io_uring": "#9467bd",
}
EXTRA_COLORS = ["#e377c2", "#7f7f7f", "#bcbd22"]


class BenchError(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def is_shim(engine):
    return engine.startswith("shim-")


def shim_backend(engine):
    return engine[len("shim-"):]


# --------------------------------------------------------------------------
# points and the plan
# --------------------------------------------------------------------------

def fio_point(pid, label, rw="randread", cache="direct", depth=32, jobs=1):
    return {"id": pid, "kind": "fio", "label": label, "rw": rw, "cache": cache,
            "depth": depth, "jobs": jobs}


def depth_point(d):
    return fio_point(f"randread-direct-qd{d}", f"O_DIRECT randread qd{d}", depth=d)


def thread_point(n):
    if n == 1:
        return depth_point(32)
    return fio_point(f"randread-direct-qd32-j{n}", f"O_DIRECT randread qd32 x {n} threads",
                     depth=32, jobs=n)


MATRIX = [
    depth_point(32),
    depth_point(128),
    depth_point(1),
    fio_point("randwrite-direct-qd32", "O_DIRECT randwrite qd32", rw="randwrite"),
    fio_point("randread-cold-qd32", "buffered randread qd32, page cache cold", cache="cold"),
    fio_point("randread-warm-qd32", "buffered randread qd32, page cache warm", cache="warm"),
]
STRESS = {"id": "stress-ng", "kind": "stress", "label": "stress-ng --aio 2 --aio-requests 64"}
STARTUP = {"id": "startup", "kind": "startup", "label": "LD_PRELOAD startup: /bin/true"}

# The engines each goal needs, used to trim quick mode to what the goals compare.
QUICK_MATRIX_ENGINES = {
    "randread-direct-qd32": ["glibc", "shim", "libaio"],
    "randread-direct-qd128": ["shim", "libaio"],
    "randread-direct-qd1": ["shim", "libaio"],
    "randwrite-direct-qd32": ["glibc", "shim", "libaio"],
    "randread-cold-qd32": ["glibc", "shim"],
    "randread-warm-qd32": ["glibc", "shim"],
}


def build_plan(cfg):
    """Returns (blocks, points, run counts). A block is a list of point ids run
    round-robin together; each (point, engine) has a number of runs."""
    engines = cfg.engines
    groups = []  # (group name, [(point, [engines], runs)], one block per point)
    if cfg.quick:
        def q(pid):
            want = QUICK_MATRIX_ENGINES[pid]
            out = []
            for e in engines:
                if (is_shim(e) and "shim" in want) or e in want:
                    out.append(e)
            return out
        matrix = [(p, q(p["id"]), cfg.runs) for p in MATRIX]
        depth_eng = [e for e in engines if e != "glibc"]
    else:
        # The matrix runs what the goals compare (glibc, the main shim,
        # libaio) and io_uring, many rounds: on a disk whose speed drifts,
        # the verdicts need the samples more than the other backends' extra
        # columns do. Those run in the depth sweep (the chart), which shares
        # the iodepth 1, 32 and 128 points, with --sweep-runs each.
        matrix = [(p, [e for e in engines if not is_shim(e) or e == cfg.main_shim], cfg.runs)
                  for p in MATRIX]
        depth_eng = engines
    thread_eng = [e for e in engines if e in ("glibc", "libaio")]
    thread_eng[1:1] = [cfg.main_shim] if cfg.main_shim else []
    groups.append(("matrix", matrix, True))
    groups.append(("depth", [(depth_point(d), depth_eng, cfg.sweep_runs) for d in cfg.depths], False))
    groups.append(("threads", [(thread_point(n), thread_eng, cfg.sweep_runs) for n in cfg.threads], False))
    groups.append(("stress", [(STRESS, [e for e in engines if e == "glibc" or e == cfg.main_shim], cfg.runs)], False))
    groups.append(("startup", [(STARTUP, ["plain+shim"], 1)], False))

    only = re.compile(cfg.only) if cfg.only else None
    points = {}      # id -> point
    runs = {}        # (id, engine) -> runs
    owner = {}       # id -> block key
    blocks = []      # [block key, [ids]]
    block_ix = {}
    for gname, items, per_point in groups:
        for p, engs, n in items:
            for e in engs:
                if only and not only.search(f"{gname}:{p['id']}:{e}"):
                    continue
                pid = p["id"]
                points[pid] = p
                runs[(pid, e)] = max(runs.get((pid, e), 0), n)
                if pid not in owner:
                    key = f"{gname}:{pid}" if per_point else gname
                    owner[pid] = key
                    if key not in block_ix:
                        block_ix[key] = len(blocks)
                        blocks.append([key, []])
                    blocks[block_ix[key]][1].append(pid)
    return blocks, points, runs


def ordered_runs(blocks, points, runs, engines):
    """Round-robin: within a block, round r runs every (point, engine) once.
    Rounds go in pairs, the second the first reversed (ABBA), and each pair
    starts one engine further on: whichever of two engines runs first in a
    round runs second in the next, so a disk that speeds up or slows down
    over a few rounds favours neither. (Rotating alone put the shim just
    before libaio in three rounds of four: a disk recovering from a slump
    showed up as a shim deficit.)"""
    order = []
    for key, ids in blocks:
        maxr = max(runs[(pid, e)] for pid in ids for e in engines + ["plain+shim"]
                   if (pid, e) in runs)
        for r in range(maxr):
            for pid in ids:
                engs = [e for e in engines + ["plain+shim"] if (pid, e) in runs]
                k = (r // 2) % len(engs) if engs else 0
                engs = engs[k:] + engs[:k]
                if r % 2:
                    engs.reverse()
                for e in engs:
                    n = runs[(pid, e)]
                    rounds = spread_rounds(n, maxr)
                    if r in rounds:
                        order.append((key, points[pid], e, rounds.index(r) + 1, n))
    return order


def spread_rounds(n, maxr):
    """The rounds (of maxr) in which a (point, engine) with n runs runs:
    spread over the block, so that a backend with a sweep point's two runs
    in a matrix block of nine samples its start and its end, not only the
    first two rounds' disk."""
    if n >= maxr:
        return list(range(maxr))
    return [int((i + 0.5) * maxr / n) for i in range(n)]


# --------------------------------------------------------------------------
# running things
# --------------------------------------------------------------------------

def base_env():
    env = {k: v for k, v in os.environ.items()
           if k != "LD_PRELOAD" and not k.startswith("AIO_SHIM_")}
    env["LC_ALL"] = "C"
    return env


def proc_cpu_ns(pid):
    clk = ((~pid) << 3) | 2  # MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)
    return time.clock_gettime_ns(clk)


def run_sampled(argv, env, stdout, stderr, cwd=None):
    """Runs argv, sampling its process CPU clock every 20 ms.
    Returns (status, rusage, samples [(t, cpu_ns)], t_start, t_end)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, env=env, stdout=stdout, stderr=stderr, cwd=cwd,
                         stdin=subprocess.DEVNULL)
    samples = []
    try:
        while True:
            try:
                c = proc_cpu_ns(p.pid)
                samples.append((time.monotonic(), c))
            except OSError:
                pass
            wpid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if wpid == p.pid:
                t1 = time.monotonic()
                p.returncode = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status
                return p.returncode, ru, samples, t0, t1
            time.sleep(0.02)
    except BaseException:
        p.kill()
        p.wait()
        raise


def window_cpu_rate(samples, t_end, runtime):
    """CPU cores used in the steady-state window [t_end - runtime + g, t_end - g]."""
    g = max(0.1, min(0.3, runtime * 0.1))
    lo, hi = t_end - runtime + g, t_end - g
    win = [s for s in samples if lo <= s[0] <= hi]
    if len(win) < 2 or win[-1][0] - win[0][0] < 0.25:
        return None
    (ta, ca), (tb, cb) = win[0], win[-1]
    return (cb - ca) / 1e9 / (tb - ta)


def read_fio_json(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    i = text.find("{")
    if i < 0:
        raise BenchError(f"no JSON in fio output {path}")
    obj, _ = json.JSONDecoder().raw_decode(text[i:])
    return obj


def read_stats(path):
    """Sums the shim's per-process JSON lines."""
    if not os.path.exists(path):
        return None
    total = {"procs": 0}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            d = json.loads(line)
            total["procs"] += 1
            for k, v in d.items():
                if k != "pid" and isinstance(v, int):
                    total[k] = total.get(k, 0) + v
    return total if total["procs"] else None


class Runner:
    def __init__(self, cfg, tmp):
        self.cfg = cfg
        self.empty_lib = build_empty_lib(tmp)
        self.tmp = tmp
        self.seq = 0

    def env_for(self, engine, stats_path=None, debug=False):
        env = base_env()
        if is_shim(engine):
            env["LD_PRELOAD"] = self.cfg.shim
            env["AIO_SHIM_BACKEND"] = shim_backend(engine)
            if stats_path:
                env["AIO_SHIM_STATS"] = stats_path
            if debug:
                env["AIO_SHIM_LOG"] = "debug"
        return env

    def fio_argv(self, point, engine, out_json, runtime, ramp, size=None, filename=None):
        c = self.cfg
        direct = point["cache"] == "direct"
        argv = [
            "fio", "--name=bench", f"--filename={filename or c.file}",
            f"--size={size or c.size_mib}M", "--bs=4k", f"--rw={point['rw']}",
            f"--direct={1 if direct else 0}", f"--iodepth={point['depth']}",
            f"--ioengine={'posixaio' if engine == 'glibc' or is_shim(engine) else engine}",
            "--thread", f"--numjobs={point['jobs']}", "--group_reporting",
            "--time_based", f"--runtime={int(runtime * 1000)}ms",
            "--norandommap", "--randrepeat=0", "--disk_util=0",
            f"--invalidate={1 if point['cache'] == 'cold' else 0}",
            "--output-format=json", f"--output={out_json}",
        ]
        if ramp > 0:
            argv.append(f"--ramp_time={int(ramp * 1000)}ms")
        return argv

    def run_fio(self, point, engine):
        c = self.cfg
        self.seq += 1
        tag = f"{self.seq:04d}"
        out_json = os.path.join(self.tmp, f"{tag}.json")
        stats_path = os.path.join(self.tmp, f"{tag}.stats") if is_shim(engine) else None
        err_path = os.path.join(self.tmp, f"{tag}.err")
        # The cold point must start cold, so no ramp (which would warm the
        # cache before measuring); fio's invalidate=1 drops the file's pages.
        ramp = 0 if point["cache"] == "cold" else c.ramp
        if point["cache"] == "warm":
            prewarm(c.file)
        argv = self.fio_argv(point, engine, out_json, c.runtime, ramp)
        env = self.env_for(engine, stats_path)
        with open(err_path, "wb") as errf, open(os.devnull, "wb") as nul:
            rc, ru, samples, t0, t1 = run_sampled(argv, env, nul, errf)
        if rc != 0:
            raise BenchError(f"fio failed (exit {rc}) for {point['id']} {engine}:\n  "
                             + " ".join(argv) + "\n" + tail(err_path))
        data = read_fio_json(out_json)
        job = data["jobs"][0]
        if job.get("error"):
            raise BenchError(f"fio job error {job['error']} for {point['id']} {engine}\n" + tail(err_path))
        side = job["write"] if point["rw"] == "randwrite" else job["read"]
        iops = side["iops"]
        rec = {
            "point": point["id"], "engine": engine,
            "iops": iops, "bw_kib": side.get("bw"),
            "lat_mean_us": side.get("lat_ns", {}).get("mean", 0) / 1e3,
            "clat_mean_us": side.get("clat_ns", {}).get("mean", 0) / 1e3,
            "total_ios": side.get("total_ios"),
            "fio_usr_cpu_pct": job.get("usr_cpu"), "fio_sys_cpu_pct": job.get("sys_cpu"),
            "proc_user_s": ru.ru_utime, "proc_sys_s": ru.ru_stime,
            "wall_s": t1 - t0, "runtime_s": c.runtime, "ramp_s": ramp,
        }
        rate = window_cpu_rate(samples, t1, c.runtime)
        rec["cpu_cores"] = rate
        rec["cpu_us_per_io"] = rate / iops * 1e6 if rate is not None and iops > 0 else None
        if iops <= 0:
            raise BenchError(f"fio reported 0 IOPS for {point['id']} {engine}\n" + tail(err_path))
        if is_shim(engine):
            self.check_shim(rec, read_stats(stats_path), point, engine, argv)
        return rec

    def check_shim(self, rec, st, point, engine, argv):
        where = f"{point['id']} {engine}"
        if st is None:
            raise BenchError(f"the shim wrote no AIO_SHIM_STATS report for {where}: it was not loaded "
                             f"or did not serve fio (LD_PRELOAD={self.cfg.shim})\n  " + " ".join(argv))
        if st.get("calls", 0) == 0 or st.get("submitted", 0) == 0:
            raise BenchError(f"the shim served no POSIX AIO calls for {where} (stats: {st})")
        for k in ("calls", "submitted", "kaio", "pool", "uring", "procs"):
            rec[f"shim_{k}"] = st.get(k, 0)
        be = shim_backend(engine)
        if be == "pool" and st.get("kaio", 0):
            log(f"bench: warning: {where}: AIO_SHIM_BACKEND=pool but {st['kaio']} requests used kernel AIO")
        if be in ("kaio", "auto") and point.get("cache") == "direct" and st.get("kaio", 0) == 0:
            log(f"bench: warning: {where}: O_DIRECT but no request used kernel AIO (stats: {st})")

    def run_stress(self, engine):
        c = self.cfg
        self.seq += 1
        tag = f"{self.seq:04d}"
        out_path = os.path.join(self.tmp, f"{tag}.stress")
        sdir = os.path.join(c.dir, f"stress-{tag}")
        os.makedirs(sdir, exist_ok=True)
        argv = ["stress-ng", "--aio", "2", "--aio-requests", "64", "-t", str(c.stress_t),
                "--metrics-brief", "--temp-path", sdir]
        env = self.env_for(engine, debug=True)
        try:
            with open(out_path, "wb") as outf:
                rc, ru, samples, t0, t1 = run_sampled(argv, env, outf, subprocess.STDOUT)
        finally:
            shutil.rmtree(sdir, ignore_errors=True)
        text = open(out_path, errors="replace").read()
        if rc != 0:
            raise BenchError(f"stress-ng failed (exit {rc}) for {engine}:\n  " + " ".join(argv) + "\n" + text[-2000:])
        m = re.search(r"\]\s+aio\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", text)
        if not m:
            raise BenchError(f"cannot find the aio metrics line in stress-ng's output for {engine}:\n" + text[-2000:])
        rec = {"point": "stress-ng", "engine": engine, "ops_per_s": float(m.group(5)),
               "bogo_ops": int(m.group(1)), "proc_user_s": ru.ru_utime, "proc_sys_s": ru.ru_stime,
               "wall_s": t1 - t0}
        sig = re.search(r"aio\s+([\d.]+) async I/O signals per sec", text)
        if sig:
            rec["signals_per_s"] = float(sig.group(1))
        if is_shim(engine):
            started = len(re.findall(r"aio_shim: pid \d+: engine started", text))
            if started == 0:
                raise BenchError(f"the shim did not serve stress-ng ({engine}): no 'engine started' line "
                                 f"with AIO_SHIM_LOG=debug\n" + text[-2000:])
            rec["shim_procs"] = started
        return rec

    def startup_env(self, variant):
        env = base_env()
        if variant == "shim":
            env["LD_PRELOAD"] = self.cfg.shim
        elif variant == "empty":
            env["LD_PRELOAD"] = self.empty_lib
        return env

    def run_startup(self, env, variant):
        """One exec of /bin/true: µs from spawn to reaped exit."""
        t = time.perf_counter()
        pid = os.posix_spawn("/bin/true", ["/bin/true"], env)
        _, status = os.waitpid(pid, 0)
        took = (time.perf_counter() - t) * 1e6
        if status != 0:
            raise BenchError(f"/bin/true failed ({variant}) with status {status}")
        return took


def build_empty_lib(tmp):
    """A one-function C library, linked as cc links any library: what
    preloading a typical library costs (the loader opening and mapping one
    more file). None without a C compiler."""
    src, lib = os.path.join(tmp, "empty.c"), os.path.join(tmp, "libempty.so")
    with open(src, "w") as f:
        f.write("void aio_bench_empty(void) {}\n")
    try:
        r = subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", lib, src], capture_output=True)
    except OSError:
        return None
    return lib if r.returncode == 0 else None


def tail(path, n=2000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


def prewarm(path):
    """Reads the whole file so that every page is cached (cheap when it is)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
        buf = bytearray(1 << 20)
        mv = memoryview(buf)
        while os.readv(fd, [mv]) > 0:
            pass
    finally:
        os.close(fd)


def drop_cache(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def ensure_file(cfg):
    want = cfg.size_mib << 20
    if os.path.exists(cfg.file) and os.path.getsize(cfg.file) == want:
        return
    free = shutil.disk_usage(cfg.dir).free
    if free < want + (256 << 20):
        raise BenchError(f"not enough space in {cfg.dir}: {free >> 20} MiB free, "
                         f"{cfg.size_mib + 256} MiB needed")
    log(f"bench: laying out {cfg.file} ({cfg.size_mib} MiB)")
    if os.path.exists(cfg.file):
        os.unlink(cfg.file)
    argv = ["fio", "--name=layout", f"--filename={cfg.file}", f"--size={cfg.size_mib}M",
            "--rw=write", "--bs=1M", "--direct=1", "--ioengine=psync", "--end_fsync=1",
            "--output-format=json", f"--output={os.devnull}"]
    r = subprocess.run(argv, env=base_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if r.returncode != 0 or os.path.getsize(cfg.file) != want:
        raise BenchError("laying out the test file failed:\n" + r.stderr.decode(errors="replace"))


def io_uring_works(cfg, tmp):
    out = os.path.join(tmp, "probe-io_uring.json")
    argv = ["fio", "--name=probe", f"--filename={cfg.file}", "--size=4M", "--rw=read",
            "--bs=4k", "--direct=1", "--ioengine=io_uring", "--thread", "--iodepth=4",
            "--output-format=json", f"--output={out}"]
    r = subprocess.run(argv, env=base_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return r.returncode == 0, r.stderr.decode(errors="replace").strip()[-300:]


# --------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------

def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values):
    values = [v for v in values if v is not None]
    if len(values) < 2:
        return None
    m = statistics.median(values)
    return (max(values) - min(values)) / 2 / m * 100 if m else None


def fmt_iops(v):
    if v is None:
        return "n/a"
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e4:
        return f"{v / 1e3:.1f}k"
    if v >= 1e3:
        return f"{v / 1e3:.2f}k"
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


def fmt_us(v, digits=1):
    return "n/a" if v is None else f"{v:.{digits}f} µs"


def fmt_ratio(v):
    return "n/a" if v is None else f"{v:.2f}x"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


class Results:
    def __init__(self, records):
        self.records = records

    def values(self, point, engine, field):
        return [r.get(field) for r in self.records if r["point"] == point and r["engine"] == engine]

    def median(self, point, engine, field):
        return med(self.values(point, engine, field))

    def paired(self, point, engine, ref, field):
        """engine/ref for each round (runs with the same number: every engine
        once, back to back), over the rounds where both have a value."""
        def by_run(e):
            return {r["run"]: r.get(field) for r in self.records
                    if r["point"] == point and r["engine"] == e and r.get(field) is not None}
        a, b = by_run(engine), by_run(ref)
        return [a[k] / b[k] for k in sorted(set(a) & set(b)) if b[k]]

    def cell(self, point, engine, field, fmt):
        vals = [v for v in self.values(point, engine, field) if v is not None]
        if not vals:
            return "–"
        s = fmt(statistics.median(vals))
        sp = spread(vals)
        if sp is not None:
            s += f" ±{sp:.0f}%"
        return s


# metric rows of the matrix table: (row label, point, field, formatter, lower is better)
MATRIX_ROWS = [
    ("O_DIRECT randread qd32", "randread-direct-qd32", "iops", fmt_iops, False, "IOPS"),
    ("O_DIRECT randread qd128", "randread-direct-qd128", "iops", fmt_iops, False, "IOPS"),
    ("O_DIRECT randread qd1, mean latency", "randread-direct-qd1", "lat_mean_us", fmt_us, True, "lat"),
    ("buffered randread qd32, cache cold", "randread-cold-qd32", "iops", fmt_iops, False, "IOPS"),
    ("buffered randread qd32, cache warm", "randread-warm-qd32", "iops", fmt_iops, False, "IOPS"),
    ("O_DIRECT randwrite qd32", "randwrite-direct-qd32", "iops", fmt_iops, False, "IOPS"),
    ("CPU per I/O, O_DIRECT randread qd32", "randread-direct-qd32", "cpu_us_per_io",
     lambda v: fmt_us(v, 2), True, "CPU"),
    ("stress-ng --aio 2 --aio-requests 64", "stress-ng", "ops_per_s", fmt_iops, False, "ops/s"),
]

# goals: (text, point, field, reference engine, op, target)
GOALS = [
    ("O_DIRECT randread qd32 IOPS vs glibc", "randread-direct-qd32", "iops", "glibc", ">=", 4.0),
    ("O_DIRECT randread qd32 IOPS vs libaio", "randread-direct-qd32", "iops", "libaio", ">=", 0.95),
    ("O_DIRECT randread qd128 IOPS vs libaio", "randread-direct-qd128", "iops", "libaio", ">=", 0.95),
    ("O_DIRECT randread qd1 mean latency vs libaio", "randread-direct-qd1", "lat_mean_us", "libaio", "<=", 1.05),
    ("buffered cold qd32 IOPS vs glibc", "randread-cold-qd32", "iops", "glibc", ">=", 2.5),
    ("buffered warm qd32 IOPS vs glibc", "randread-warm-qd32", "iops", "glibc", ">=", 1.1),
    ("O_DIRECT randwrite qd32 IOPS vs glibc", "randwrite-direct-qd32", "iops", "glibc", ">=", 4.0),
    ("O_DIRECT randwrite qd32 IOPS vs libaio", "randwrite-direct-qd32", "iops", "libaio", ">=", 0.95),
    ("CPU per I/O (whole process), O_DIRECT qd32, vs libaio", "randread-direct-qd32", "cpu_us_per_io", "libaio", "<=", 1.25),
    ("stress-ng --aio ops/s vs glibc", "stress-ng", "ops_per_s", "glibc", ">=", 1.0),
]


FIELD_FMT = {"iops": fmt_iops, "lat_mean_us": fmt_us, "cpu_us_per_io": lambda v: fmt_us(v, 2),
             "ops_per_s": fmt_iops}


def verdict(r, op, target):
    if r is None:
        return "n/a"
    ok = r >= target if op == ">=" else r <= target
    return "PASS" if ok else "MISS"


def write_markdown(cfg, res, startup, meta, path, svg_names):
    E = cfg.engines
    shims = [e for e in E if is_shim(e)]
    main = cfg.main_shim
    L = []
    L.append(f"# libaio_shim benchmark, {meta['timestamp']}")
    L.append("")
    L.append(f"Mode **{'quick' if cfg.quick else 'full'}**: {cfg.size_mib} MiB file on {meta['fstype']} "
             f"(`{cfg.dir}`), 4 KiB blocks, one fd, fio `--thread`, {cfg.runtime:g} s per run "
             f"(+{cfg.ramp:g} s ramp; none for the cold-cache point), medians of {cfg.runs} run(s) "
             f"per matrix point and {cfg.sweep_runs} per sweep point, engines alternating run by run. "
             f"Machine: {meta['nproc']} CPUs, Linux {meta['kernel']}, {meta['fio']}, stress-ng {meta['stress_ng']}. "
             f"Shim: `{meta['shim']}` (sha256 {meta['shim_sha256'][:12]}; engine sha256 "
             f"{meta.get('engine_sha256', '?')[:12]}; repo HEAD {meta['git_head']}). "
             f"Took {meta['elapsed_s'] / 60:.1f} min; other processes used {meta['other_cpu_pct']:.0f}% "
             f"of the machine's CPU time meanwhile (load average {meta['load_start']:.1f} at the start).")
    if meta["other_cpu_pct"] > 15:
        L.append("")
        L.append(f"**Warning: the machine was busy**: other processes used {meta['other_cpu_pct']:.0f}% of "
                 "the CPU time during the benchmark (user+system time of all CPUs, less this benchmark's "
                 "own processes). They compete for the CPUs and the disk: expect wide ranges, and rerun "
                 "the affected points (`--only`) on a quiet machine.")
    L.append("")
    L.append("Engines: `glibc` = fio `posixaio` on glibc; `shim-X` = fio `posixaio` with "
             "`LD_PRELOAD=libaio_shim.so AIO_SHIM_BACKEND=X`; `libaio`, `io_uring` = fio's own engines. "
             "Cells: median ±half the min–max range in % of it.")
    L.append("")
    # goals
    # Other backends get goal columns when they ran the matrix (older runs,
    # or --runs at most --sweep-runs); otherwise they have a sweep point or
    # two, too few runs to set beside the main one's.
    def ran_matrix(e):
        return any(len([v for v in res.values(pt, e, f) if v is not None]) >= min(cfg.runs, 3)
                   for _, pt, f, _, _, _ in GOALS)
    others = [s for s in shims if s != main and ran_matrix(s)]
    L.append(f"## Goals (verdict for `{main}`, the default backend)" if main else "## Goals")
    L.append("")
    # A control beside goals against libaio: fio's io_uring engine (kernel
    # native, no shim) against the same reference, in the same rounds.
    # Where it too lands outside the target, the point's run-to-run noise
    # is wider than the margin the goal leaves.
    control = "io_uring" if "io_uring" in E and "libaio" in E else None
    hdr = (["goal", "target", "reference", main or "shim", "ratio", "verdict", "paired by round (min–max)"]
           + ([f"control: {control}/libaio"] if control else [])
           + [f"{s} ratio" for s in others])
    L.append("| " + " | ".join(hdr) + " |")
    L.append("|" + "---|" * len(hdr))
    for text, point, field, ref, op, target in GOALS:
        fmt = FIELD_FMT[field]
        refv = res.median(point, ref, field)
        mv = res.median(point, main, field) if main else None
        r = ratio(mv, refv)
        v = verdict(r, op, target)
        pr = res.paired(point, main, ref, field) if main else []
        paired = (f"{statistics.median(pr):.2f}x ({min(pr):.2f}–{max(pr):.2f})" if len(pr) >= 2
                  else "n/a")
        cells = [text, f"{op} {target:g}x", f"{ref} {fmt(refv)}", fmt(mv), fmt_ratio(r),
                 f"**{v}**" if v != "n/a" else v, paired]
        def ratio_verdict(engine):
            ro = ratio(res.median(point, engine, field), refv)
            return fmt_ratio(ro) + ("" if ro is None else " " + verdict(ro, op, target))
        if control:
            cells.append(ratio_verdict(control) if ref == "libaio" else "")
        for s in others:
            cells.append(ratio_verdict(s))
        L.append("| " + " | ".join(cells) + " |")
    L.append("")
    L.append("Ratios are shim median / reference median (for latency and CPU, lower is better); the "
             "verdict is on that ratio. Paired by round: every round runs each engine once, back to "
             "back, so the shim's run and the reference's in one round are seconds apart; the column "
             "gives the median of those per-round ratios and their lowest and highest. On a shared "
             "machine whose speed drifts from run to run, the spread of the per-round ratios shows how "
             "far a verdict near its target can be trusted. The control column holds fio's own io_uring "
             "engine (no shim) to the same target against libaio, from the same rounds: where it misses "
             "too, the two kernel interfaces differ by more than the goal's margin on this machine, "
             "and so does the noise. Timing never fails the script.")
    L.append("")
    # matrix
    L.append(f"## Matrix")
    L.append("")
    ME = [e for e in E if not is_shim(e) or e == main or e in others]
    hdr = ["workload"] + ME + ([f"{main}/glibc", f"{main}/libaio"] if main else [])
    L.append("| " + " | ".join(hdr) + " |")
    L.append("|" + "---|" * len(hdr))
    for label, point, field, fmt, lower, unit in MATRIX_ROWS:
        unit_s = {"IOPS": " (IOPS)", "lat": "", "CPU": " (CPU µs per I/O)", "ops/s": " (bogo ops/s)"}[unit]
        cells = [label + unit_s]
        any_v = False
        for e in ME:
            c = res.cell(point, e, field, fmt)
            any_v |= c != "–"
            cells.append(c)
        if not any_v:
            continue
        if main:
            m = res.median(point, main, field)
            cells.append(fmt_ratio(ratio(m, res.median(point, "glibc", field))))
            cells.append(fmt_ratio(ratio(m, res.median(point, "libaio", field))))
        L.append("| " + " | ".join(cells) + " |")
    L.append("")
    L.append("CPU per I/O: user+sys CPU of the whole fio process (every thread: fio's, glibc's helpers, "
             "the shim's workers and reaper; io_uring's io-wq workers) over the steady-state part of "
             "the run, divided by the I/O completed in it. fio's own `usr_cpu`/`sys_cpu` "
             "(job thread only under `--thread`) are kept in runs.csv.")
    L.append("")
    # depth sweep
    depth_ids = [depth_point(d)["id"] for d in cfg.depths]
    have = [d for d in cfg.depths if any(res.values(depth_point(d)["id"], e, "iops") for e in E)]
    if have:
        L.append("## Requests in flight: IOPS vs iodepth (O_DIRECT randread, one job)")
        L.append("")
        hdr = ["iodepth"] + E + ([f"{main}/libaio"] if main else [])
        L.append("| " + " | ".join(hdr) + " |")
        L.append("|" + "---|" * len(hdr))
        for d in have:
            pid = depth_point(d)["id"]
            cells = [str(d)] + [res.cell(pid, e, "iops", fmt_iops) for e in E]
            if main:
                cells.append(fmt_ratio(ratio(res.median(pid, main, "iops"), res.median(pid, "libaio", "iops"))))
            L.append("| " + " | ".join(cells) + " |")
        L.append("")
        if "depth" in svg_names:
            L.append(f"![IOPS vs iodepth]({svg_names['depth']})")
            L.append("")
    # threads
    have = [n for n in cfg.threads if any(res.values(thread_point(n)["id"], e, "iops") for e in E)]
    if have:
        L.append("## Submitting threads: total IOPS (O_DIRECT randread, iodepth 32 per thread)")
        L.append("")
        T = [e for e in E if any(res.values(thread_point(n)["id"], e, "iops") for n in have)]
        hdr = ["threads"] + T + ([f"{main}/glibc", f"{main}/libaio"] if main in T else [])
        L.append("| " + " | ".join(hdr) + " |")
        L.append("|" + "---|" * len(hdr))
        for n in have:
            pid = thread_point(n)["id"]
            cells = [str(n)] + [res.cell(pid, e, "iops", fmt_iops) for e in T]
            if main in T:
                m = res.median(pid, main, "iops")
                cells.append(fmt_ratio(ratio(m, res.median(pid, "glibc", "iops"))))
                cells.append(fmt_ratio(ratio(m, res.median(pid, "libaio", "iops"))))
            L.append("| " + " | ".join(cells) + " |")
        L.append("")
        if "threads" in svg_names:
            L.append(f"![IOPS vs threads]({svg_names['threads']})")
            L.append("")
    # startup
    if startup:
        p, s = med(startup["plain"]), med(startup["shim"])
        e = med(startup["empty"]) if startup.get("empty") else None
        L.append("## Startup cost: `/bin/true`")
        L.append("")
        L.append("| | execs | median µs per exec (spawn + exit + wait) |")
        L.append("|---|---|---|")
        L.append(f"| plain | {startup['n_plain']} | {p:.0f} |")
        L.append(f"| `LD_PRELOAD=libaio_shim.so` | {startup['n_shim']} | {s:.0f} |")
        if e:
            L.append(f"| `LD_PRELOAD=` an empty one-function C library | {startup['n_empty']} | {e:.0f} |")
        L.append("")
        if startup.get("block", 1) > 1:
            how = f"blocks of {startup['block']} execs alternating, median of block means"
        else:
            how = "one exec of each in turn, the order rotating; median of single execs"
        L.append(f"Ratio shim/plain: **{s / p:.2f}x** ({s - p:+.0f} µs per exec; {how}).")
        if e:
            L.append(f"Preloading a one-function C library (`cc -shared`, four LOAD segments) costs "
                     f"{e / p:.2f}x here ({e - p:+.0f} µs: the loader opens and maps one more file); "
                     f"shim/empty library: **{s / e:.2f}x** (the shim's stub is linked as two segments, "
                     f"shim/build.rs).")
        L.append("")
    # shim stats
    rows = {}
    for r in res.records:
        if is_shim(r["engine"]) and "shim_calls" in r:
            k = (r["point"], r["engine"])
            acc = rows.setdefault(k, {"runs": 0, "calls": 0, "submitted": 0, "kaio": 0, "pool": 0})
            acc["runs"] += 1
            for f in ("calls", "submitted", "kaio", "pool"):
                acc[f] += r.get(f"shim_{f}", 0)
    if rows:
        L.append("## Proof the shim served its runs (AIO_SHIM_STATS, summed over runs)")
        L.append("")
        L.append("| point | engine | runs | calls | submitted | kaio | pool |")
        L.append("|---|---|---|---|---|---|---|")
        for (pt, e), a in rows.items():
            L.append(f"| {pt} | {e} | {a['runs']} | {a['calls']} | {a['submitted']} | {a['kaio']} | {a['pool']} |")
        L.append("")
        sn = [r for r in res.records if r["point"] == "stress-ng" and is_shim(r["engine"])]
        if sn:
            procs = sorted({r.get("shim_procs") for r in sn})
            L.append(f"stress-ng workers leave with `_exit` (no stats report): each of the {len(sn)} shim "
                     f"runs showed {'/'.join(str(p) for p in procs)} worker(s) starting the shim "
                     "(its `engine started` line with AIO_SHIM_LOG=debug).")
            L.append("")
    L.append("Raw data: `runs.csv`, `runs.json` (one record per run).")
    L.append("")
    with open(path, "w") as f:
        f.write("\n".join(L))


# --------------------------------------------------------------------------
# SVG
# --------------------------------------------------------------------------

def nice_max(v):
    if v <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(v))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * e >= v:
            return m * e
    return 10 * e


def fmt_tick(v):
    if v >= 1e6:
        return f"{v / 1e6:g}M"
    if v >= 1e3:
        return f"{v / 1e3:g}k"
    return f"{v:g}"


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_svg(path, title, xlabel, series, xs):
    """series: [(name, color, dash, [(x, y)])], x on a log2 axis."""
    W, H = 820, 470
    ml, mr, mt, mb = 78, 170, 46, 58
    pw, ph = W - ml - mr, H - mt - mb
    ymax = nice_max(max([y for _, _, _, pts in series for _, y in pts] + [1]) * 1.05)
    lx0, lx1 = math.log2(min(xs)), math.log2(max(xs))
    if lx1 == lx0:
        lx0, lx1 = lx0 - 1, lx1 + 1

    def X(x):
        return ml + (math.log2(x) - lx0) / (lx1 - lx0) * pw

    def Y(y):
        return mt + ph - y / ymax * ph

    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
         f'font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{ml + pw / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">{esc(title)}</text>']
    for i in range(6):
        yv = ymax * i / 5
        y = Y(yv)
        o.append(f'<line x1="{ml}" y1="{y:.1f}" x2="{ml + pw}" y2="{y:.1f}" stroke="#ddd"/>')
        o.append(f'<text x="{ml - 8}" y="{y + 4:.1f}" text-anchor="end">{esc(fmt_tick(yv))}</text>')
    for x in xs:
        px = X(x)
        o.append(f'<line x1="{px:.1f}" y1="{mt}" x2="{px:.1f}" y2="{mt + ph}" stroke="#eee"/>')
        o.append(f'<text x="{px:.1f}" y="{mt + ph + 18}" text-anchor="middle">{x}</text>')
    o.append(f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>')
    o.append(f'<text x="{ml + pw / 2}" y="{H - 14}" text-anchor="middle">{esc(xlabel)}</text>')
    o.append(f'<text transform="translate(18 {mt + ph / 2}) rotate(-90)" text-anchor="middle">IOPS (4 KiB)</text>')
    for k, (name, color, dash, pts) in enumerate(series):
        pts = sorted(pts)
        if not pts:
            continue
        d = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in pts)
        da = f' stroke-dasharray="{dash}"' if dash else ""
        o.append(f'<polyline points="{d}" fill="none" stroke="{color}" stroke-width="2"{da}/>')
        for x, y in pts:
            o.append(f'<circle cx="{X(x):.1f}" cy="{Y(y):.1f}" r="3.5" fill="{color}">'
                     f'<title>{esc(name)}: {x} -&gt; {y:.0f} IOPS</title></circle>')
        ly = mt + 14 + k * 22
        o.append(f'<line x1="{ml + pw + 14}" y1="{ly}" x2="{ml + pw + 44}" y2="{ly}" stroke="{color}" stroke-width="2"{da}/>')
        o.append(f'<circle cx="{ml + pw + 29}" cy="{ly}" r="3.5" fill="{color}"/>')
        o.append(f'<text x="{ml + pw + 52}" y="{ly + 4}">{esc(name)}</text>')
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")


def engine_style(e, i):
    color = COLORS.get(e, EXTRA_COLORS[i % len(EXTRA_COLORS)])
    dash = {"shim-kaio": "6,3", "shim-pool": "2,3", "shim-uring": "8,2,2,2"}.get(e, "")
    return color, dash


def write_charts(cfg, res, outdir):
    names = {}
    for key, xs_all, mk, title, xlabel in (
        ("depth", cfg.depths, depth_point, "O_DIRECT 4 KiB random reads: IOPS vs requests in flight",
         "iodepth (requests in flight, log scale)"),
        ("threads", cfg.threads, thread_point, "O_DIRECT 4 KiB random reads, iodepth 32 per thread",
         "submitting threads in one process (log scale)"),
    ):
        series, xs = [], set()
        for i, e in enumerate(cfg.engines):
            pts = []
            for x in xs_all:
                m = res.median(mk(x)["id"], e, "iops")
                if m is not None:
                    pts.append((x, m))
                    xs.add(x)
            if pts:
                c, d = engine_style(e, i)
                series.append((e, c, d, pts))
        if series and len(xs) >= 2:
            fn = f"iops_vs_{'iodepth' if key == 'depth' else 'threads'}.svg"
            write_svg(os.path.join(outdir, fn), title, xlabel, series, sorted(xs))
            names[key] = fn
    return names


CSV_FIELDS = ["seq", "block", "point", "engine", "run", "iops", "lat_mean_us", "clat_mean_us",
              "cpu_us_per_io", "cpu_cores", "ops_per_s", "signals_per_s", "bw_kib", "total_ios",
              "proc_user_s", "proc_sys_s", "wall_s", "runtime_s", "ramp_s", "fio_usr_cpu_pct",
              "fio_sys_cpu_pct", "shim_calls", "shim_submitted", "shim_kaio", "shim_pool",
              "shim_uring", "shim_procs", "bogo_ops"]


def write_raw(outdir, records, startup, meta):
    with open(os.path.join(outdir, "runs.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in records:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    with open(os.path.join(outdir, "runs.json"), "w") as f:
        json.dump({"meta": meta, "runs": records, "startup": startup}, f, indent=1)
        f.write("\n")


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def system_busy_s():
    """user + nice + system time of all CPUs, in seconds (/proc/stat)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return sum(int(x) for x in fields[1:4]) / os.sysconf("SC_CLK_TCK")


def own_cpu_s():
    """CPU time of this runner and every child it has waited for."""
    import resource
    t = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        ru = resource.getrusage(who)
        t += ru.ru_utime + ru.ru_stime
    return t


def cmd_version(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True).stdout.strip().splitlines()[0]
    except (OSError, IndexError):
        return "?"


def main_shim(engines):
    """The shim engine the verdicts are for: shim-auto, else the first."""
    shims = [e for e in engines if is_shim(e)]
    return "shim-auto" if "shim-auto" in shims else (shims[0] if shims else None)


def rerender(outdir):
    """Rewrite outdir's results.md and charts from its runs.json (scripts/bench
    --report): after a change to the report, without measuring again."""
    with open(os.path.join(outdir, "runs.json")) as f:
        raw = json.load(f)
    meta, records, startup = raw["meta"], raw["runs"], raw.get("startup")
    quick = meta["mode"] == "quick"
    cfg = argparse.Namespace(
        engines=meta["engines"], quick=quick, size_mib=meta["size_mib"], dir=meta["dir"],
        runtime=meta["runtime_s"], ramp=meta["ramp_s"], runs=meta["runs"],
        sweep_runs=meta["sweep_runs"],
        depths=DEPTHS_QUICK if quick else DEPTHS_FULL, threads=THREADS_QUICK if quick else THREADS_FULL,
        main_shim=main_shim(meta["engines"]))
    res = Results(records)
    svg_names = write_charts(cfg, res, outdir)
    md = os.path.join(outdir, "results.md")
    write_markdown(cfg, res, startup, meta, md, svg_names)
    log(f"bench: rewrote {md} from runs.json (nothing measured)")
    return 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--report":
        return rerender(sys.argv[2])
    ap = argparse.ArgumentParser(prog="bench.py", description="use scripts/bench")
    ap.add_argument("--repo", required=True)
    ap.add_argument("--shim", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--fstype", default="?")
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--sweep-runs", type=int)
    ap.add_argument("--only")
    ap.add_argument("--engines")
    ap.add_argument("--keep-file", action="store_true")
    ap.add_argument("--dry-run", action="store_true")
    cfg = ap.parse_args()

    if cfg.quick:
        cfg.size_mib, cfg.runtime, cfg.ramp = 256, 1.0, 0.25
        cfg.runs = cfg.runs or 1
        cfg.sweep_runs = min(cfg.sweep_runs or 1, cfg.runs)
        cfg.depths, cfg.threads, cfg.stress_t = DEPTHS_QUICK, THREADS_QUICK, 2
        cfg.startup_n, default_engines = 300, QUICK_ENGINES
    else:
        cfg.size_mib, cfg.runtime, cfg.ramp = 1024, 2.0, 1.0
        cfg.runs = cfg.runs or 9
        cfg.sweep_runs = min(cfg.sweep_runs or 2, cfg.runs)
        cfg.depths, cfg.threads, cfg.stress_t = DEPTHS_FULL, THREADS_FULL, 5
        cfg.startup_n, default_engines = 3000, ALL_ENGINES
    if cfg.runs < 1 or cfg.sweep_runs < 1:
        log("bench: --runs and --sweep-runs must be at least 1")
        return 2
    if cfg.engines:
        cfg.engines = [e.strip() for e in cfg.engines.split(",") if e.strip()]
        bad = [e for e in cfg.engines if e not in ("glibc", "libaio", "io_uring") and not is_shim(e)]
        if bad:
            log(f"bench: unknown engine(s) {bad}: use glibc, shim-BACKEND, libaio, io_uring")
            return 2
    else:
        cfg.engines = list(default_engines)
    if cfg.only:
        try:
            re.compile(cfg.only)
        except re.error as e:
            log(f"bench: bad --only regex: {e}")
            return 2
    cfg.main_shim = main_shim(cfg.engines)
    cfg.file = os.path.join(cfg.dir, f"aio-bench-{cfg.size_mib}m.dat")

    blocks, points, runs = build_plan(cfg)
    order = ordered_runs(blocks, points, runs, cfg.engines)
    if not order:
        log(f"bench: nothing matches --only {cfg.only!r}")
        return 2
    n_fio = sum(1 for o in order if o[1]["kind"] == "fio")
    n_stress = sum(1 for o in order if o[1]["kind"] == "stress")
    est = n_fio * (cfg.runtime + cfg.ramp + 0.45) + n_stress * (cfg.stress_t + 0.3) \
        + (cfg.startup_n * 2 * 0.001 if any(o[1]["kind"] == "startup" for o in order) else 0)
    log(f"bench: {len(order)} items ({n_fio} fio runs, {n_stress} stress-ng runs), "
        f"about {est / 60:.1f} min; engines: {', '.join(cfg.engines)}")
    if cfg.dry_run:
        for i, (key, p, e, r, n) in enumerate(order, 1):
            print(f"[{i}/{len(order)}] {key} {p['id']} {e} run {r}/{n}")
        return 0

    start = time.monotonic()
    ts = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    outdir = os.path.join(cfg.out, ts)
    os.makedirs(outdir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".bench-tmp-", dir=cfg.dir)
    meta = {
        "timestamp": ts, "mode": "quick" if cfg.quick else "full", "dir": cfg.dir,
        "fstype": cfg.fstype, "size_mib": cfg.size_mib, "runtime_s": cfg.runtime,
        "ramp_s": cfg.ramp, "runs": cfg.runs, "sweep_runs": cfg.sweep_runs,
        "only": cfg.only, "engines": cfg.engines, "shim": cfg.shim,
        "nproc": os.cpu_count(), "kernel": platform.release(),
        "fio": cmd_version(["fio", "--version"]),
        "stress_ng": (cmd_version(["stress-ng", "--version"]).split("version ") + ["?"])[1].split()[0],
        "python": platform.python_version(),
    }
    with open(cfg.shim, "rb") as f:
        meta["shim_sha256"] = hashlib.sha256(f.read()).hexdigest()
    engine = os.environ.get("AIO_SHIM_ENGINE") or os.path.join(os.path.dirname(cfg.shim), "libaio_shim_engine.so")
    with open(engine, "rb") as f:
        meta["engine_sha256"] = hashlib.sha256(f.read()).hexdigest()
    try:
        meta["git_head"] = subprocess.run(["git", "-C", cfg.repo, "rev-parse", "--short", "HEAD"],
                                          capture_output=True, text=True).stdout.strip() or "?"
    except OSError:
        meta["git_head"] = "?"

    meta["load_start"] = os.getloadavg()[0]
    busy0, ours0 = system_busy_s(), own_cpu_s()
    records, startup = [], None
    runner = Runner(cfg, tmp)
    status = 0
    try:
        if n_fio:
            ensure_file(cfg)
            if "io_uring" in cfg.engines and any(o[2] == "io_uring" for o in order):
                ok, why = io_uring_works(cfg, tmp)
                if not ok:
                    log(f"bench: warning: fio's io_uring engine does not work here (kernel.io_uring_disabled "
                        f"or a seccomp filter?); leaving it out: {why}")
                    order = [o for o in order if o[2] != "io_uring"]
        last_block = None
        total = len(order)
        for i, (key, p, e, r, n) in enumerate(order, 1):
            prefix = f"[{i}/{total}] {p['id']} {e} run {r}/{n}"
            if p["kind"] == "fio":
                if key != last_block and p["cache"] != "warm":
                    drop_cache(cfg.file)
                rec = runner.run_fio(p, e)
                msg = f"{rec['iops']:.0f} IOPS"
                if p["depth"] == 1:
                    msg += f", lat {rec['lat_mean_us']:.1f} µs"
                if rec.get("cpu_us_per_io") is not None:
                    msg += f", {rec['cpu_us_per_io']:.2f} µs CPU/IO"
                if "shim_calls" in rec:
                    msg += f" (shim: {rec['shim_kaio']} kaio, {rec['shim_pool']} pool)"
            elif p["kind"] == "stress":
                rec = runner.run_stress(e)
                msg = f"{rec['ops_per_s']:.0f} bogo ops/s"
            else:
                variants = ["plain", "shim"] + (["empty"] if runner.empty_lib else [])
                # One exec of each variant in turn, the order rotating, so
                # that neighbouring execs see the same machine: blocks of
                # 100 per variant let the machine's drift between blocks
                # into the ratio (+66 to +91 µs for one library, run to run).
                startup = startup or {"block": 1, **{k: [] for k in variants},
                                      **{f"n_{k}": 0 for k in variants}}
                envs = {v: runner.startup_env(v) for v in variants}
                for v in variants:
                    for _ in range(20):  # warm-up: page cache, loader caches
                        runner.run_startup(envs[v], v)
                for b in range(cfg.startup_n):
                    k = b % len(variants)
                    for v in variants[k:] + variants[:k]:
                        startup[v].append(runner.run_startup(envs[v], v))
                        startup[f"n_{v}"] += 1
                pm, sm = med(startup["plain"]), med(startup["shim"])
                em = f", empty library {med(startup['empty']):.0f} µs" if startup.get("empty") else ""
                log(f"[{i}/{total}] startup: {startup['n_plain']}+{startup['n_shim']} execs of /bin/true: "
                    f"plain {pm:.0f} µs, LD_PRELOAD shim {sm:.0f} µs ({sm / pm:.2f}x){em}")
                last_block = key
                continue
            rec.update({"seq": len(records) + 1, "block": key, "run": r})
            records.append(rec)
            log(f"{prefix}: {msg}")
            last_block = key
    except BenchError as ex:
        log(f"bench: ERROR: {ex}")
        status = 1
    except KeyboardInterrupt:
        log("bench: interrupted")
        status = 130
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if not cfg.keep_file and os.path.exists(cfg.file):
            os.unlink(cfg.file)

    meta["elapsed_s"] = time.monotonic() - start
    other = (system_busy_s() - busy0) - (own_cpu_s() - ours0)
    meta["other_cpu_pct"] = max(0.0, other / (meta["elapsed_s"] * (os.cpu_count() or 1)) * 100)
    meta["complete"] = status == 0
    res = Results(records)
    svg_names = write_charts(cfg, res, outdir)
    md = os.path.join(outdir, "results.md")
    write_markdown(cfg, res, startup, meta, md, svg_names)
    write_raw(outdir, records, startup, meta)
    if status == 0:
        rel = os.path.basename(outdir)
        with open(md) as f:
            text = f.read()
        for fn in svg_names.values():
            text = text.replace(f"]({fn})", f"]({rel}/{fn})")
        text = text.replace("`runs.csv`, `runs.json`", f"`{rel}/runs.csv`, `{rel}/runs.json`")
        with open(os.path.join(cfg.out, "latest.md"), "w") as f:
            f.write(text)
        log(f"bench: done in {meta['elapsed_s'] / 60:.1f} min: {md} (and {os.path.join(cfg.out, 'latest.md')})")
        # the goals section on stdout
        with open(md) as f:
            body = f.read()
        m = re.search(r"## Goals.*?(?=\n## )", body, re.S)
        print(m.group(0).strip() if m else body)
    else:
        with open(os.path.join(outdir, "INCOMPLETE"), "w") as f:
            f.write("this run stopped early; the tables hold what was measured\n")
        log(f"bench: partial results in {outdir}")
    return status


if __name__ == "__main__":
    sys.exit(main())
