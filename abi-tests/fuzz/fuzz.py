#!/usr/bin/env python3
"""Differential fuzzing of libaio_shim.so against glibc's POSIX AIO.

usage: abi-tests/fuzz/fuzz.sh [options]        (fuzz.sh runs this file)

  --seed S          first seed (default: random, printed); sequence i uses S+i
  --count N         random sequences (default 3000; 0: only the regressions)
  --len N           random operations per sequence (default 50; the model adds
                    the waits, feeds and cleanup it needs)
  --time-budget S   stop starting new random sequences after S seconds
                    (default 120)
  --jobs N          sequences run in parallel (default 2 x nproc)
  --shim PATH       the library (default target/release/libaio_shim.so)
  --variant V       alt (default: even seeds plain, odd seeds
                    _FILE_OFFSET_BITS=64), plain, fob64, both
  --no-regress      do not replay abi-tests/fuzz/regress/*.seq
  --replay FILE...  run these sequence files (both variants) and nothing else
  --save NAME       write the sequence of --seed (with --len), or of --from
                    FILE, to regress/NAME.seq (replayed by every run)
  --from FILE       with --save: the sequence file to save (e.g. a minimized one)
  --minimize        on a failure of a random sequence, shrink it (ddmin over
                    the generator's steps, so that every candidate is still
                    a sequence glibc determines) and write it next to the
                    failure's work directory
  --print SEED      print the sequence of SEED (with --len) and exit
  --selfcheck       compare glibc with glibc instead of the shim (checks that
                    the generator only prints what glibc determines)
  --selftest        check the checker: comparison rules, and that glibc
                    broken on purpose (perturb.c, one behaviour at a time) is
                    caught within --count (at most 400) sequences
  --avoid F,...     generator knobs to step around a known difference while
                    looking for others (never for CI): lio-opcode-alias,
                    fsync-prio-order, badfd-einval
  --keep            keep the work directories of passing runs

Every sequence runs under glibc and under LD_PRELOAD=$SHIM (with
AIO_SHIM_STATS, which must show "calls":N > 0) in a scratch directory under
target/fuzz-work/, and the transcripts are compared; lines starting with '~'
hold results glibc itself does not fix and are compared with a tolerance
(README.md).  Exit status 1 on any difference.
"""
import argparse
import difflib
import multiprocessing
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(ROOT, "abi-tests", "build")
REGRESS = os.path.join(HERE, "regress")
# Known, intended differences (generator knobs): aio_fsync is a barrier
# behind every request submitted before it (POSIX), where glibc queues it
# by priority ahead of requests with aio_reqprio > 0.
INTENDED = ["fsync-prio-order"]
WORK = os.path.join(ROOT, "target", "fuzz-work")
DRIVER_SRC = os.path.join(HERE, "driver.c")
PERTURB_SRC = os.path.join(HERE, "perturb.c")
PERTURB_SO = os.path.join(BUILD, "fuzz_perturb.so")
PERTURBATIONS = ["return", "error", "cancel", "nosignal", "offset", "lioorder", "suspend0", "fields"]

NSLOTS = 16
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
SIZE_MAX = 2**64 - 1
FILES = ["F", "G", "A", "R", "D"]
STREAMS = ["PR", "PW", "S"]
BADFDS = ["NEG", "CLOSED", "HUGE"]
# capacity the model allows in flight on the streams (well below the kernel's
# buffers, so that no write ever blocks)
CAP = {"PR": 20000, "S": 16000, "PW": 24000, "Sout": 12000}
STREAM_READ_MAX = 2048
FEED_MAX = 2048
MAX_STUCK = 6
MAX_DETAILED = 10    # failures reported with their diff
MAX_SUMMARY = 40     # failures listed at the end
MAX_KEPT = 50        # failures whose work directory is kept


# ---------------------------------------------------------------------------
# the model: what glibc determines
# ---------------------------------------------------------------------------

class Req:
    __slots__ = ("rid", "slot", "kind", "fd", "off", "len", "buf", "prio", "sig",
                 "state", "mc", "opcode", "prio_field")

    def __init__(self, rid, slot, kind, fd, off, ln, buf, prio, sig, opcode=None):
        self.rid, self.slot, self.kind, self.fd = rid, slot, kind, fd
        self.off, self.len, self.buf, self.prio, self.sig = off, ln, buf, prio, sig
        self.prio_field = prio  # what the aiocb says; .prio is what glibc uses (0 for syncs)
        self.opcode = opcode
        self.state = "flow"   # flow: will complete; stuck: stream, needs data; done: final and known
        self.mc = False       # a cancel may or may not have caught it (race)

    def region(self):
        """File range a read sees / a write changes, or None if the request
        fails before touching the file."""
        if self.kind not in ("read", "write"):
            return None
        if self.off < 0 or self.len == 0 or self.len > INT64_MAX or self.off + self.len > INT64_MAX:
            return None
        if self.fd == "R" and self.kind == "write":
            return None
        return (self.off, self.off + self.len)


class Gen:
    def __init__(self, seed, nops, avoid=()):
        self.r = random.Random(seed)
        self.seed = seed
        self.nops = nops
        self.avoid = set(avoid)
        self.out = []
        self.next_id = 0
        self.slots = [None] * NSLOTS       # Req (submitted) or None (unused / not submitted)
        self.slot_fd = ["NEG"] * NSLOTS    # aio_fildes of the slot's aiocb
        self.reqs = []
        self.queue = {s: [] for s in STREAMS}   # not yet completing; [0] is stuck
        self.comp = {s: [] for s in STREAMS}    # predicted to complete, not waited
        self.avail = {"PR": 0, "S": 0}
        self.written = {"PW": 0, "S": 0}
        self.size0 = {}
        self.smin = {}

    # -- helpers -----------------------------------------------------------
    def emit(self, line):
        self.out.append(line)

    def flowing(self):
        return [q for q in self.reqs if q.state == "flow"]

    def free_slots(self):
        return [i for i in range(NSLOTS) if self.slots[i] is None or self.slots[i].state == "done"]

    def new_id(self):
        i = self.next_id
        self.next_id += 1
        return i

    def emit_wait(self, q):
        assert q.state != "stuck", "waiting for a stuck request"
        self.emit("wait c=%d mc=%d" % (q.slot, 1 if q.mc else 0))
        self.mark_done(q)

    def settle_direct_write(self, q):
        """An O_DIRECT write with a misaligned offset, length or buffer
        fails with EINVAL, but the kernel (iomap) checks alignment mapping
        by mapping: an aligned leading extent may be written before a
        misaligned one fails the request. Whether it is depends on the
        file's extent state at that moment, for glibc's pwrite as for
        io_submit (a standalone program saw data land in 1 of 40 runs of
        either). Such a write is waited for at once and its range
        overwritten. 512: the logical block size of the virtio and loop
        disks this runs on (a 4Kn disk would need 4096, which would
        serialize nearly every D write)."""
        if q.kind != "write" or q.fd != "D" or q.state == "stuck" or not q.region():
            return
        unal = q.buf.startswith("unal") and int(q.buf.split(":")[1]) % 512 != 0
        if q.off % 512 == 0 and q.len % 512 == 0 and not unal:
            return
        self.emit_wait(q)
        self.emit_repair(q)

    def emit_repair(self, q):
        """Overwrite the range a write of q's may or may not have changed
        (the driver writes it through its own descriptor), and count it in
        the file's known size; none of ours writes past 64 KiB."""
        ln = min(q.len, 65536)
        self.emit("repair fd=%s off=%d len=%d" % (q.fd, q.off, ln))
        if q.off + ln <= 2**40:
            self.smin[q.fd] = max(self.smin[q.fd], q.off + ln)

    def mark_done(self, q):
        if q.state == "done":
            return
        q.state = "done"
        if q.fd in self.comp and q in self.comp[q.fd]:
            self.comp[q.fd].remove(q)
        if q.kind == "write" and not q.mc and q.fd in ("F", "G", "A"):
            reg = q.region()
            good_buf = q.buf in ("norm", "ro") or q.buf.startswith("unal")
            if reg and good_buf and q.len <= 65536:
                if reg[1] <= 2**40:
                    if q.fd == "A":
                        self.smin["A"] += q.len
                    else:
                        self.smin[q.fd] = max(self.smin[q.fd], reg[1])

    # -- streams -----------------------------------------------------------
    def exec_stream(self, fd, q):
        """True if the head request completes now (and its effect), False if
        it blocks."""
        if q.kind == "read":
            if fd == "PW" or q.off < 0 or q.len == 0 or q.len > INT64_MAX:
                return True
            if self.avail[fd] > 0:
                self.avail[fd] -= min(self.avail[fd], q.len)
                return True
            return False
        if q.kind == "write":
            if fd == "PR" or q.off < 0 or q.len == 0 or q.len > INT64_MAX or q.buf in ("null", "bad"):
                return True
            self.written[fd] += q.len
            return True
        return True  # fsync (EINVAL), invalid opcode

    def advance(self, fd):
        qu = self.queue[fd]
        while qu:
            h = qu[0]
            if self.exec_stream(fd, h):
                qu.pop(0)
                h.state = "flow"
                self.comp[fd].append(h)
            else:
                # the head waits for data, everything behind it waits for the head
                for o in qu:
                    o.state = "stuck"
                break

    def stream_insert(self, fd, q):
        qu = self.queue[fd]
        if not qu:
            qu.append(q)
        else:
            i = len(qu)
            while i > 1 and qu[i - 1].prio > q.prio:
                i -= 1
            qu.insert(i, q)
        self.advance(fd)

    def stabilize(self, fd):
        for q in list(self.comp[fd]):
            self.emit_wait(q)

    def stream_max_prio(self, fd):
        ps = [q.prio for q in self.comp[fd] + self.queue[fd]]
        return max(ps) if ps else 0

    # -- files: conflicts --------------------------------------------------
    def conflicts(self, q, pending):
        """Requests in `pending` (in flight, same fd) whose outcome could
        depend on the order relative to q, or q's on theirs."""
        out = []
        if q.fd not in FILES:
            return out
        rq = q.region()
        if rq is None:
            return out
        for o in pending:
            if o is q or o.fd != q.fd or o.state == "done":
                continue
            ro = o.region()
            if ro is None or (q.kind == "read" and o.kind == "read"):
                continue
            if q.fd == "A":
                if q.kind == "write" and o.kind == "write":
                    continue
                rd = rq if q.kind == "read" else ro
                if rd[1] > self.smin["A"]:
                    out.append(o)
                continue
            overlap = rq[0] < ro[1] and ro[0] < rq[1]
            if q.kind == "write" and o.kind == "write":
                if overlap:
                    out.append(o)
                continue
            rd, wr = (rq, ro) if q.kind == "read" else (ro, rq)
            if overlap or (wr[0] >= rd[1] and rd[1] > self.smin[q.fd]):
                out.append(o)
        return out

    def append_order_blockers(self, q):
        """In-flight appends that must finish first so that the appends land
        in submission order (glibc queues by aio_reqprio)."""
        if q.fd != "A" or q.kind != "write" or q.region() is None:
            return []
        return [o for o in self.reqs if o.state == "flow" and o.fd == "A" and o.kind == "write" and o.prio > q.prio]

    # -- submission ----------------------------------------------------------
    def accept(self, q):
        """Model of a submission that passed the synchronous checks."""
        self.reqs.append(q)
        self.slots[q.slot] = q
        if q.fd in BADFDS or q.fd in FILES:
            q.state = "flow"
        else:
            self.stream_insert(q.fd, q)

    def sync_fails(self, kind, prio, fd, fsync_op=None):
        if fsync_op is not None:
            return fsync_op not in ("sync", "dsync") or fd in BADFDS
        if kind == "fsync":
            return False  # lio opcodes 3/4: priority zeroed
        return not (0 <= prio <= 20)

    def pick_fd(self):
        r = self.r
        return r.choices(
            ["F", "G", "A", "R", "D", "PR", "PW", "S", "NEG", "CLOSED", "HUGE"],
            [25, 8, 9, 6, 10, 12, 6, 12, 2, 2, 2])[0]

    def pick_sig(self):
        r = self.r
        k = r.choices(["none", "sig:1", "sig:2", "thread", "threadattr", "badsig", "zero", "bogus"],
                      [45, 12, 6, 8, 2, 6, 4, 7])[0]
        if k == "badsig":
            return "badsig:%d" % r.choice([-1, 65, 200, 1000])
        if k == "bogus":
            return "bogus:%d" % r.choice([3, 5, 99, -1, 12345])
        return k

    def pick_prio(self, fd=None):
        r = self.r
        x = r.random()
        # on a stream (and O_APPEND) the order glibc runs queued requests in
        # is visible: more priorities there
        if x < (0.45 if fd in ("PR", "PW", "S", "A") else 0.7):
            return 0
        if x < 0.9:
            return r.randint(1, 20)
        return r.choice([-1, 21, 1000, -2147483648])

    def pick_buf(self, fd, kind, ln):
        r = self.r
        if fd in ("PR", "S") and kind == "read" and ln > 0:
            return r.choice(["norm"] * 6 + ["unal:%d" % r.randint(1, 4095)])
        if fd == "D" and r.random() < 0.6:
            return "norm"
        b = r.choices(["norm", "unal", "null", "bad", "ro"], [70, 10, 8, 7, 5])[0]
        if b == "unal":
            return "unal:%d" % r.choice([1, 7, 511, 512, 4095])
        return b

    def pick_len(self, fd, kind, buf):
        r = self.r
        if buf == "null":
            return 0 if r.random() < 0.7 else r.choice([1, 100, 4096, 1 << 20])
        if buf == "bad":
            return r.choice([0, 1, 100, 4096, 1 << 20])
        if buf == "ro":
            # a read-only page: a write from it is fine, but never longer than
            # the mapping (a partial copy would make the length uncertain)
            return r.choice([0, 1, 100, 4096])
        if fd in ("PR", "S", "PW"):
            return r.choice([0, r.randint(1, 16), r.randint(1, STREAM_READ_MAX)])
        x = r.random()
        if x < 0.03:
            return SIZE_MAX
        if x < 0.1:
            return 0
        if fd == "D" and r.random() < 0.6:
            return 512 * r.randint(1, 16)
        return r.choice([r.randint(1, 64), r.randint(1, 4096), 512 * r.randint(1, 8), r.randint(1, 65536)])

    def pick_off(self, fd, kind):
        r = self.r
        if fd in BADFDS and "badfd-einval" in self.avoid:
            return r.choice([0, 100, 1 << 20])
        if fd in STREAMS:
            return r.choices([0, -1, r.randint(1, 1 << 20)], [80, 10, 10])[0]
        size = self.size0.get(fd, 4096)
        x = r.random()
        if x < 0.05:
            return r.choice([-1, -4096, INT64_MIN])
        if x < 0.09:
            return r.choice([2**62, INT64_MAX - 100, INT64_MAX - 5])
        if fd == "D" and r.random() < 0.6:
            return 512 * r.randint(0, 256)
        return r.choice([0, r.randint(0, size + 8192), 512 * r.randint(0, 128), size + r.randint(0, 100000)])

    def get_slot(self):
        fs = self.free_slots()
        if fs:
            return self.r.choice(fs)
        fl = self.flowing()
        if not fl:
            return None
        q = self.r.choice(fl)
        self.emit_wait(q)
        return q.slot

    def n_stuck(self):
        return sum(1 for q in self.reqs if q.state == "stuck")

    def make_req(self, slot, kind, fd, sig=None, opcode=None):
        buf = "null"
        ln = 0
        off = 0
        if kind in ("read", "write"):
            buf = self.pick_buf(fd, kind, 1)
            ln = self.pick_len(fd, kind, buf)
            if fd in ("PR", "S") and kind == "read" and ln > 0 and buf not in ("norm",) and not buf.startswith("unal"):
                buf = "norm"
            off = self.pick_off(fd, kind)
        prio = self.pick_prio(fd)
        return Req(-1, slot, kind, fd, off, ln, buf, prio, sig if sig is not None else self.pick_sig(), opcode)

    def fix_stream_constraints(self, q):
        """Stream requests: bounded capacity, no reads that would need a bad
        buffer, order-preserving priorities while the queue drains."""
        fd = q.fd
        if fd not in STREAMS:
            return True
        if q.kind == "read" and fd in ("PR", "S") and q.off >= 0 and 0 < q.len <= INT64_MAX:
            if self.n_stuck() >= MAX_STUCK and self.avail[fd] == 0:
                return False
        if q.kind == "write" and fd in ("PW", "S") and q.buf not in ("null", "bad") and 0 < q.len <= INT64_MAX and q.off >= 0:
            cap = CAP["PW"] if fd == "PW" else CAP["Sout"]
            if self.written[fd] + q.len > cap:
                return False
        return True

    def op_submit(self):
        r = self.r
        slot = self.get_slot()
        if slot is None:
            return False
        kind = r.choices(["read", "write", "fsync"], [45, 42, 13])[0]
        fd = self.pick_fd()
        if kind == "fsync" and r.random() < 0.3:
            # a sync queued behind a blocked stream: where glibc puts it
            busy = [f for f in STREAMS if self.queue[f]]
            if busy:
                fd = r.choice(busy)
        q = self.make_req(slot, kind, fd)
        if kind == "fsync":
            fop = r.choices(["sync", "dsync", "bad"], [45, 45, 10])[0]
            if fop == "bad":
                fop = str(r.choice([0, 2, 1024, 12345, -1]))
        else:
            fop = None
        if not self.fix_stream_constraints(q):
            return False
        fails = self.sync_fails(kind, q.prio, fd, fop)
        if not fails and kind == "fsync":
            q.prio = 0
        if not fails and fd in STREAMS and kind == "fsync" and "fsync-prio-order" in self.avoid:
            if any(o.prio > 0 for o in self.comp[fd] + self.queue[fd]):
                return False
        q.rid = self.new_id()
        self.slot_fd[slot] = fd
        if not fails:
            # ordering rules and conflicts: wait first
            if fd in STREAMS and self.comp[fd] and q.prio < self.stream_max_prio(fd):
                self.stabilize(fd)
            for o in self.append_order_blockers(q) + self.conflicts(q, self.flowing()):
                if o.state != "done":
                    self.emit_wait(o)
        if kind == "fsync":
            line = "fsync c=%d fd=%s op=%s prio=%d sig=%s" % (slot, fd, fop, q.prio_field, q.sig)
        else:
            line = "%s c=%d fd=%s off=%d len=%d buf=%s prio=%d sig=%s" % (
                kind, slot, fd, q.off, q.len, q.buf, q.prio, q.sig)
        self.emit(line)
        if r.random() < 0.15:
            self.emit("fields c=%d" % slot)
        if fails:
            q.state = "done"
            self.slots[slot] = q
            self.reqs.append(q)
        else:
            self.accept(q)
            self.settle_direct_write(q)
        return True

    def op_lio(self):
        r = self.r
        mode = r.choices(["wait", "nowait", "bad"], [45, 45, 10])[0]
        if mode == "bad":
            mode = str(r.choice([2, -1, 128, 1000]))
        n = r.choice([0, 1, 1, 2, 2, 3, 4, 5, 8])
        fs = self.free_slots()
        if len(fs) < n:
            for q in self.flowing()[: n - len(fs)]:
                self.emit_wait(q)
            fs = self.free_slots()
            n = min(n, len(fs))
        slots = r.sample(fs, n)
        nent = n if r.random() < 0.9 else r.randint(0, n)
        valid_mode = mode in ("wait", "nowait")
        pre_existing = self.flowing()
        entries = []
        submitted = []
        this_list = []
        for idx, slot in enumerate(slots):
            if r.random() < 0.1:
                entries.append("null")
                continue
            x = r.random()
            if x < 0.8:
                opcode = r.choice([0, 1])
            elif x < 0.9:
                opcode = 2
            else:
                pool = [7, -1, 1000]
                if "lio-opcode-alias" not in self.avoid:
                    pool += [3, 4, 128, 129, -128]
                opcode = r.choice(pool)
            fd = self.pick_fd()
            if fd in BADFDS and "badfd-einval" in self.avoid and opcode not in (0, 1, 2) and (opcode & 127) > 1:
                opcode = r.choice([0, 1])
            o7 = opcode & 127
            kind = "read" if o7 == 0 else "write" if o7 == 1 else "fsync" if opcode in (3, 4) else "inval"
            # an fsync or invalid entry keeps whatever range fields it was given
            q = self.make_req(slot, kind if kind in ("read", "write") else "read", fd, opcode=opcode)
            q.kind = kind
            if opcode == 2:
                q.rid = self.new_id()
                entries.append(self.lio_entry(q))
                self.slot_fd[slot] = fd
                self.slots[slot] = None
                continue
            submit_it = valid_mode and idx < nent
            if submit_it and not self.sync_fails(kind, q.prio, fd):
                if kind == "fsync":
                    q.prio = 0
                if not self.fix_stream_constraints(q):
                    entries.append("null")
                    continue
                if fd in STREAMS and self.comp[fd] and q.prio < self.stream_max_prio(fd):
                    need = self.stream_max_prio(fd)
                    if need <= 20 and kind != "fsync":
                        q.prio = q.prio_field = need
                    else:
                        entries.append("null")
                        continue
                if fd in STREAMS and kind == "fsync" and "fsync-prio-order" in self.avoid:
                    if any(o.prio > 0 for o in self.comp[fd] + self.queue[fd]):
                        entries.append("null")
                        continue
                if self.append_order_blockers(q) or self.conflicts(q, this_list):
                    entries.append("null")
                    continue
                for o in self.conflicts(q, pre_existing):
                    if o.state != "done" and o not in this_list:
                        # wait before the list is submitted
                        self.emit_wait(o)
                q.rid = self.new_id()
                entries.append(self.lio_entry(q))
                self.slot_fd[slot] = fd
                self.accept(q)
                submitted.append(q)
                this_list.append(q)
            else:
                q.rid = self.new_id()
                entries.append(self.lio_entry(q))
                self.slot_fd[slot] = fd
                if submit_it:
                    q.state = "done"  # failed at submission (EINVAL stored)
                    self.slots[slot] = q
                    self.reqs.append(q)
                else:
                    self.slots[slot] = None   # prepared, never submitted
        nent = min(nent, len(entries))
        if mode == "wait" and any(q.state == "stuck" for q in submitted):
            mode = "nowait"
        sig = "null" if r.random() < 0.15 else self.pick_sig()
        self.emit(("lio mode=%s nent=%d sig=%s %s" % (mode, nent, sig, " ".join("e=" + e for e in entries))).rstrip())
        if mode == "wait":
            for q in submitted:
                self.mark_done(q)
        for q in submitted:
            self.settle_direct_write(q)
        return True

    def lio_entry(self, q):
        return "%d/%d/%s/%d/%d/%s/%d/%s" % (q.slot, q.opcode, q.fd, q.off, q.len, q.buf, q.prio_field, q.sig)

    # -- other operations ------------------------------------------------------
    def op_wait(self):
        fl = self.flowing()
        if not fl:
            return False
        self.emit_wait(self.r.choice(fl))
        return True

    def slot_state(self, s):
        q = self.slots[s]
        if q is None:
            return "done"
        return q.state

    def op_error(self):
        s = self.r.randrange(NSLOTS)
        q = self.slots[s]
        det = q is None or (q.state == "done" and not q.mc) or q.state == "stuck"
        self.emit("error c=%d det=%d" % (s, det))
        return True

    def op_return(self):
        s = self.r.randrange(NSLOTS)
        q = self.slots[s]
        det = q is None or (q.state == "done" and not q.mc)
        self.emit("return c=%d det=%d" % (s, det))
        return True

    def op_fields(self):
        s = self.r.randrange(NSLOTS)
        self.emit("fields c=%d" % s)
        return True

    def op_suspend(self):
        r = self.r
        n = r.choice([1, 1, 2, 3, 4, 6])
        cs = []
        for _ in range(n):
            if r.random() < 0.12:
                cs.append("null")
            else:
                # prefer slots with requests
                used = [i for i in range(NSLOTS) if self.slots[i] is not None]
                cs.append(str(r.choice(used) if used and r.random() < 0.85 else r.randrange(NSLOTS)))
        t = r.choices(["null", "0", "neg", "negns", "ms:1", "ms:3", "s:10"], [12, 20, 8, 5, 20, 10, 10])[0]
        none = r.random() < 0.03
        states = [] if none else [self.slot_state(int(c)) for c in cs if c != "null"]
        if not states or "done" in states:
            det = True
        elif all(s == "stuck" for s in states):
            if t == "null":
                t = "ms:1"
            if t == "s:10":
                t = "ms:2"
            det = True
        else:
            det = t in ("null", "s:10")
        self.emit("suspend cs=%s t=%s det=%d" % ("none" if none else ",".join(cs), t, det))
        return True

    def op_feed(self):
        r = self.r
        fd = r.choice(["PR", "S"])
        self.stabilize(fd)
        qu = self.queue[fd]
        room = CAP[fd] - self.avail[fd]
        if room <= 0:
            return False
        if qu and r.random() < 0.6:
            want = qu[0].len if r.random() < 0.5 else sum(q.len for q in qu if q.kind == "read")
        else:
            want = r.randint(1, 600)
        n = max(1, min(want, FEED_MAX, room))
        self.emit("feed fd=%s len=%d" % (fd, n))
        self.avail[fd] += n
        self.advance(fd)
        return True

    def op_cancel(self):
        r = self.r
        x = r.random()
        if x < 0.5:
            # one request, usually on its own fd, preferably one in flight
            queued = [q.slot for f in ("PR", "S", "PW") for q in self.queue[f]]
            flowing = [q.slot for q in self.flowing()]
            y = r.random()
            if queued and y < 0.4:
                s = r.choice(queued)
            elif flowing and y < 0.75:
                s = r.choice(flowing)
            else:
                s = r.randrange(NSLOTS)
            fd = self.slot_fd[s] if r.random() < 0.85 else self.pick_fd()
            return self.cancel(fd, s)
        fd = self.pick_fd()
        return self.cancel(fd, None)

    def cancel(self, fd, s):
        q = self.slots[s] if s is not None else None
        if fd in BADFDS:
            self.emit("cancel fd=%s c=%s det=1" % (fd, "null" if s is None else s))
            return True
        if s is not None and self.slot_fd[s] != fd:
            self.emit("cancel fd=%s c=%d det=1" % (fd, s))   # EINVAL
            return True
        if fd in STREAMS:
            self.stabilize(fd)
            qu = self.queue[fd]
            if s is not None and qu and q is qu[0] and len(qu) > 1:
                # glibc bug: cancelling a head no thread has taken yet strands
                # the requests behind it (see README.md)
                return False
            # The blocked head: glibc says AIO_NOTCANCELED once a thread has
            # taken it, AIO_CANCELED before (a race glibc does not fix).
            # Everything queued behind it is cancelled for certain.
            head = qu[0] if qu and (s is None or q is qu[0]) else None
            self.emit("cancel fd=%s c=%s det=%d" % (fd, "null" if s is None else s, 0 if head else 1))
            if s is None:
                for o in qu[1:]:
                    o.state = "done"
                del qu[1:]
            elif q is not None and q in qu[1:]:
                qu.remove(q)
                q.state = "done"
            if head:
                # converge: feed exactly what the head asked for; cancelled,
                # it leaves the bytes in the stream, not cancelled, it takes
                # them; then drop whatever is left
                head.mc = True
                self.emit("feed fd=%s len=%d" % (fd, head.len))
                self.avail[fd] += head.len
                self.advance(fd)
                self.stabilize(fd)
                self.emit("drain fd=%s" % fd)
                self.avail[fd] = 0
            return True
        # files
        if fd == "A":
            # appends must not race with a cancel (everything after would move)
            for o in self.flowing():
                if o.fd == "A" and o.kind == "write":
                    self.emit_wait(o)
        if s is None:
            targets = [o for o in self.flowing() if o.fd == fd]
        else:
            targets = [q] if q is not None and q.state == "flow" else []
            if targets:
                # glibc bug: cancelling a request that is first in its fd's
                # queue but not yet taken by a thread strands the request
                # behind it (marked runnable, never put on the run list), so
                # one request is cancelled only when nothing else is in
                # flight on its fd
                for o in self.flowing():
                    if o.fd == fd and o is not q:
                        self.emit_wait(o)
        det = not targets
        self.emit("cancel fd=%s c=%s det=%d" % (fd, "null" if s is None else s, det))
        repairs = []
        for o in targets:
            o.mc = True
            if o.kind == "write" and fd in ("F", "G", "D"):
                # even a failing write (bad buffer) may have moved the end of
                # the file to its offset; none of ours writes past 64 KiB
                if o.region():
                    repairs.append(o)
        # a cancelled-or-not write leaves its range undetermined: wait for it
        # and overwrite the range
        for o in repairs:
            self.emit_wait(o)
        for o in repairs:
            self.emit_repair(o)
        return True

    # -- sequence ----------------------------------------------------------------
    def cleanup(self):
        r = self.r
        for fd in ("PR", "S"):
            guard = 0
            while self.queue[fd]:
                guard += 1
                assert guard < 100
                self.stabilize(fd)
                if r.random() < 0.5 and self.queue[fd]:
                    self.cancel(fd, None)
                qu = self.queue[fd]
                if not qu:
                    break
                need = sum(q.len for q in qu if q.kind == "read")
                n = max(1, min(need, FEED_MAX, CAP[fd] - self.avail[fd]))
                self.emit("feed fd=%s len=%d" % (fd, n))
                self.avail[fd] += n
                self.advance(fd)
            self.stabilize(fd)
        fl = self.flowing()
        r.shuffle(fl)
        for q in fl:
            self.emit_wait(q)
        assert not any(q.state != "done" for q in self.reqs), "left in flight"
        self.emit("end")

    def generate(self, keep=None):
        """keep: None, or the set of step numbers to run (minimization):
        every step draws from its own random stream, so dropping steps
        leaves the others as they were, and the model still adds the waits,
        feeds and cleanup the remaining ones need."""
        r = self.r
        sizes = {
            "F": r.choice([0, 100, 4096, 10000, 65536, 200000]),
            "G": r.choice([0, 4096, 30000]),
            "A": r.choice([0, 1, 4096, 5000]),
            "R": r.choice([0, 100, 8192, 70000]),
            "D": r.choice([0, 4096, 65536, 131072]),
        }
        self.size0 = dict(sizes)
        self.smin = dict(sizes)
        self.emit("# seed=%d len=%d" % (self.seed, self.nops))
        self.emit("setup " + " ".join("%s=%d" % (k, sizes[k]) for k in FILES))
        ops = [(self.op_submit, 34), (self.op_lio, 9), (self.op_cancel, 9), (self.op_suspend, 8),
               (self.op_error, 8), (self.op_return, 5), (self.op_wait, 11), (self.op_feed, 7),
               (self.op_fields, 3)]
        fns = [o[0] for o in ops]
        ws = [o[1] for o in ops]
        master = random.Random(self.seed * 1000003 + 17)
        self.used = []
        done = 0
        for step in range(self.nops * 20):
            step_seed = master.getrandbits(64)
            if done >= self.nops:
                break
            if keep is not None and step not in keep:
                continue
            self.r = random.Random(step_seed)
            if self.r.choices(fns, ws)[0]():
                done += 1
                self.used.append(step)
        self.r = random.Random(self.seed * 31 + 7)
        self.cleanup()
        return self.out


def generate(seed, nops, avoid=(), keep=None):
    return "\n".join(Gen(seed, nops, avoid).generate(keep)) + "\n"


def used_steps(seed, nops, avoid=()):
    g = Gen(seed, nops, avoid)
    g.generate()
    return g.used


# ---------------------------------------------------------------------------
# comparison
# ---------------------------------------------------------------------------

CANCEL_SET = {"AIO_CANCELED", "AIO_NOTCANCELED", "AIO_ALLDONE"}
SUSPEND_SET = {"0", "-1 EAGAIN"}
SANITY_MARKERS = ("BUG", "TIMEOUT", "INCONSISTENT", "WATCHDOG", "LEFT IN FLIGHT", "aio_suspend returned 0")


def split_result(line):
    for sep in (" -> ", " = "):
        i = line.find(sep)
        if i >= 0:
            return line[:i], line[i + len(sep):]
    return line, ""


def tolerated(a, b):
    """Two '~' lines: results glibc does not fix."""
    ka, va = split_result(a)
    kb, vb = split_result(b)
    if ka != kb:
        return False
    if va == vb:
        return True
    for tok in ("EINPROGRESS", "(in progress)", "ECANCELED"):
        if tok in va or tok in vb:
            return True
    if va in CANCEL_SET and vb in CANCEL_SET:
        return True
    if va in SUSPEND_SET and vb in SUSPEND_SET:
        return True
    return False


def compare(ref, got):
    """None if equivalent, else (line number, explanation)."""
    for i in range(max(len(ref), len(got))):
        a = ref[i] if i < len(ref) else None
        b = got[i] if i < len(got) else None
        if a == b:
            continue
        if a is not None and b is not None and a.startswith("~") and b.startswith("~") and tolerated(a, b):
            continue
        return i + 1
    return None


def sanity_problems(lines):
    return [l for l in lines if any(l.startswith(m) or (" " + m) in l for m in SANITY_MARKERS)]


# ---------------------------------------------------------------------------
# running
# ---------------------------------------------------------------------------

def driver_path(variant):
    return os.path.join(BUILD, "fuzz_driver" + (".fob64" if variant == "fob64" else ""))


def build_drivers():
    os.makedirs(BUILD, exist_ok=True)
    cc = os.environ.get("CC", "gcc")
    ok = True
    for variant, extra in (("plain", []), ("fob64", ["-D_FILE_OFFSET_BITS=64"])):
        out = driver_path(variant)
        if os.path.exists(out) and os.path.getmtime(out) > os.path.getmtime(DRIVER_SRC):
            continue
        cmd = [cc, "-O1", "-g", "-Wall", "-pthread"] + extra + ["-o", out, DRIVER_SRC, "-lrt"]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0 or p.stdout.strip():
            print("fuzz: building %s failed or warned:\n%s" % (out, p.stdout))
            if os.path.exists(out):
                os.unlink(out)
            ok = False
    return ok


def run_one(seq_text, variant, mode, wdir, shim, wait_ms=None):
    """mode: glibc, shim or perturb:NAME (glibc under perturb.so, for
    --selftest).  Returns (lines, rc, stderr, stats-text)."""
    shutil.rmtree(wdir, ignore_errors=True)
    os.makedirs(wdir)
    seqf = os.path.join(wdir, "seq")
    with open(seqf, "w") as f:
        f.write(seq_text)
    env = dict(os.environ)
    for k in list(env):
        # the shim's settings (AIO_SHIM_BACKEND, ...) only for the shim
        if k == "LD_PRELOAD" or k.startswith("AIO_SHIM_") and (mode != "shim" or k == "AIO_SHIM_STATS"):
            del env[k]
    stats = os.path.join(wdir, "stats")
    if mode == "shim":
        env["LD_PRELOAD"] = shim
        env["AIO_SHIM_STATS"] = stats
    elif mode.startswith("perturb:"):
        env["LD_PRELOAD"] = PERTURB_SO
        env["FUZZ_PERTURB"] = mode.split(":", 1)[1]
    if wait_ms:
        env["FUZZ_WAIT_MS"] = str(wait_ms)
    try:
        p = subprocess.run([driver_path(variant), seqf], cwd=wdir, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        out, err, rc = p.stdout, p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out, err, rc = e.stdout or b"", e.stderr or b"", 124
    out = out.decode("utf-8", "replace")
    err = err.decode("utf-8", "replace")
    with open(os.path.join(wdir, "out"), "w") as f:
        f.write(out)
    with open(os.path.join(wdir, "err"), "w") as f:
        f.write(err)
    st = ""
    if os.path.exists(stats):
        with open(stats) as f:
            st = f.read()
    return out.splitlines(), rc, err, st


def stats_calls(st):
    best = 0
    for part in st.split('"calls":')[1:]:
        num = ""
        for ch in part:
            if ch.isdigit():
                num += ch
            else:
                break
        if num:
            best = max(best, int(num))
    return best


def check(seq_text, variant, wdir, shim, other_mode="shim", wait_ms=None, expected=None):
    """Run one sequence under glibc and under other_mode (shim, glibc for
    --selfcheck, perturb:NAME for --selftest).  Returns (ok, report).
    expected: the transcript to hold the shim to instead of glibc's (a
    regression test where glibc is wrong: regress/NAME.expected)."""
    if expected is not None:
        g_lines, g_rc, g_err = expected, 0, ""
    else:
        g_lines, g_rc, g_err, _ = run_one(seq_text, variant, "glibc", os.path.join(wdir, "glibc"), shim, wait_ms)
    problems = []
    bad = sanity_problems(g_lines)
    if g_rc != 0 or bad:
        problems.append("the sequence is not clean under glibc (exit %d): the generator's model is wrong "
                        "here, not necessarily the shim" % g_rc)
        problems += ["  glibc: " + l for l in bad[:10]]
        if g_err.strip():
            problems += ["  glibc stderr: " + l for l in g_err.strip().splitlines()[-5:]]
    s_lines, s_rc, s_err, st = run_one(seq_text, variant, other_mode, os.path.join(wdir, "other"), shim, wait_ms)
    other = {"glibc": "glibc (2nd run)", "shim": "shim"}.get(other_mode, other_mode)
    at = compare(g_lines, s_lines)
    if at is not None:
        ga = g_lines[at - 1] if at <= len(g_lines) else "(end of transcript)"
        sa = s_lines[at - 1] if at <= len(s_lines) else "(end of transcript)"
        problems.append("transcripts differ at line %d (glibc vs %s): glibc '%s', %s '%s'"
                        % (at, other, ga[:100], other, sa[:100]))
        diff = difflib.unified_diff(g_lines, s_lines, "glibc", other, n=3, lineterm="")
        dl = list(diff)
        problems += ["  " + l for l in dl[:60]]
        if len(dl) > 60:
            problems.append("  ... (%d more diff lines)" % (len(dl) - 60))
    if s_rc != g_rc:
        problems.append("exit status: glibc %d, %s %d" % (g_rc, other, s_rc))
        if s_err.strip():
            problems += ["  %s stderr: %s" % (other, l) for l in s_err.strip().splitlines()[-5:]]
    if other_mode == "shim":
        calls = stats_calls(st)
        if calls <= 0:
            problems.append("shim not loaded: AIO_SHIM_STATS file %s missing or without \"calls\":N > 0%s"
                            % (os.path.join(wdir, "other", "stats"), (": " + st.strip()) if st.strip() else ""))
    return (not problems), "\n".join(problems)


# worker-side ---------------------------------------------------------------

_CFG = {}


def _init(cfg):
    _CFG.update(cfg)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _task(item):
    kind, name, seed, variant, seq_text = item
    cfg = _CFG
    if seq_text is None:
        seq_text = generate(seed, cfg["len"], cfg["avoid"])
    wdir = os.path.join(cfg["work"], "%s.%s" % (name, variant))
    expected = None
    exp_path = os.path.join(REGRESS, name[len("regress-"):] + ".expected") if kind == "regress" else None
    if exp_path and os.path.exists(exp_path) and cfg["other"] == "shim":
        with open(exp_path) as f:
            expected = f.read().splitlines()
    ok, rep = check(seq_text, variant, wdir, cfg["shim"], cfg["other"], expected=expected)
    nops = sum(1 for l in seq_text.splitlines() if l and not l.startswith("#"))
    if ok and not cfg["keep"]:
        shutil.rmtree(wdir, ignore_errors=True)
    return kind, name, seed, variant, ok, rep, nops, wdir, seq_text


# ---------------------------------------------------------------------------
# minimization
# ---------------------------------------------------------------------------

def still_fails(lines, variant, wdir, shim, other_mode):
    text = "\n".join(lines) + "\n"
    for _ in range(2):
        ok, rep = check(text, variant, wdir, shim, other_mode, wait_ms=400)
        if ok or "not clean under glibc" in rep:
            return False
        if "transcripts differ" not in rep and "exit status" not in rep:
            return False  # e.g. only "shim not loaded": nothing left to compare
    # glibc must agree with itself on the reduced sequence
    for _ in range(2):
        ok, _ = check(text, variant, wdir + ".self", shim, "glibc", wait_ms=400)
        if not ok:
            return False
    return True


def minimize(seed, nops, avoid, variant, wdir, shim, other_mode="shim", budget=600):
    """ddmin over the generator's steps; returns (text, steps kept)."""
    steps = used_steps(seed, nops, avoid)

    def fails(subset):
        text = generate(seed, nops, avoid, keep=set(subset))
        return still_fails(text.splitlines(), variant, wdir, shim, other_mode)

    start = time.time()
    n = 2
    while len(steps) >= 2 and time.time() - start < budget:
        chunk = max(1, len(steps) // n)
        removed = False
        i = 0
        while i < len(steps) and time.time() - start < budget:
            cand = steps[:i] + steps[i + chunk:]
            if fails(cand):
                steps = cand
                removed = True
            else:
                i += chunk
        if not removed:
            if chunk == 1:
                break
            n = min(len(steps), n * 2)
        else:
            n = max(2, n - 1)
    return generate(seed, nops, avoid, keep=set(steps)), steps


# ---------------------------------------------------------------------------
# self-test: the comparison must catch differences
# ---------------------------------------------------------------------------

COMPARE_CASES = [
    # (glibc lines, other lines, equivalent?)
    (["~error c0(r1) = EINPROGRESS"], ["~error c0(r1) = 0"], True),
    (["~error c0(r1) = EIO"], ["~error c0(r1) = 0"], False),
    (["error c0(r1) = EINPROGRESS"], ["error c0(r1) = 0"], False),
    (["~error c0(r1) = 0"], ["~error c0(r2) = 0"], False),
    (["~return c1(r1) = (in progress)"], ["~return c1(r1) = 5 (error 0)"], True),
    (["~return c1(r1) = 4 (error 0)"], ["~return c1(r1) = 5 (error 0)"], False),
    (["~cancel fd=F c=null -> AIO_CANCELED"], ["~cancel fd=F c=null -> AIO_ALLDONE"], True),
    (["~cancel fd=F c=null -> AIO_CANCELED"], ["~cancel fd=F c=null -> -1 EINVAL"], False),
    (["cancel fd=PR c=null -> AIO_CANCELED"], ["cancel fd=PR c=null -> AIO_NOTCANCELED"], False),
    (["~suspend [c1(r2)] t=0 -> 0"], ["~suspend [c1(r2)] t=0 -> -1 EAGAIN"], True),
    (["~suspend [c1(r2)] t=0 -> 0"], ["~suspend [c1(r2)] t=0 -> -1 EINVAL"], False),
    (["~wait c1(r2) = error=ECANCELED return=-1"], ["~wait c1(r2) = error=0 return=5 data=00"], True),
    (["~wait c1(r2) = error=0 return=4 data=aa"], ["~wait c1(r2) = error=0 return=5 data=aa"], False),
    (["~wait c1(r2) = error=0 return=4 data=aa"], ["wait c1(r2) = error=0 return=4 data=aa"], False),
    (["end"], ["end", "INCONSISTENT c1(r2): ..."], False),
    (["a", "end"], ["end"], False),
]


def selftest(a, shim):
    bad = 0
    for ref, got, same in COMPARE_CASES:
        res = compare(ref, got) is None
        if res != same:
            bad += 1
            print("FAIL compare(%r, %r): %s, expected %s" % (ref, got, res, same))
    print("%s comparison: %d cases" % ("PASS" if not bad else "FAIL", len(COMPARE_CASES)))
    cc = os.environ.get("CC", "gcc")
    p = subprocess.run([cc, "-shared", "-fPIC", "-O1", "-Wall", "-o", PERTURB_SO, PERTURB_SRC, "-ldl"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0 or p.stdout.strip():
        print("FAIL building perturb.so:\n" + p.stdout)
        return 1
    base = a.seed if a.seed is not None else 1
    n = min(a.count, 400)
    ctx = multiprocessing.get_context("fork")
    for m in ["none"] + PERTURBATIONS:
        cfg = {"len": a.len, "avoid": [], "shim": shim, "other": "perturb:" + m, "keep": False,
               "work": os.path.join(WORK, "selftest-%d" % os.getpid())}
        found = None
        done = 0
        with ctx.Pool(a.jobs, initializer=_init, initargs=(cfg,)) as pool:
            items = [("random", "selftest-%s-%d" % (m, base + i), base + i, "plain" if i % 2 == 0 else "fob64", None)
                     for i in range(n)]
            for res in pool.imap_unordered(_task, items):
                done += 1
                if not res[4]:
                    found = res
                    pool.terminate()
                    break
        if m == "none":
            # the library itself must change nothing
            ok = found is None
            print("%s perturbation none: %d sequences, %s" % ("PASS" if ok else "FAIL", done,
                  "no difference" if ok else "difference: " + found[5].splitlines()[0]))
        else:
            ok = found is not None
            print("%s perturbation %s: %s" % ("PASS" if ok else "FAIL", m,
                  ("caught by seed %d after %d sequences: %s" % (found[2], done, found[5].splitlines()[0]))
                  if ok else "NOT caught in %d sequences" % done))
            if found:
                shutil.rmtree(found[7], ignore_errors=True)
        bad += not ok
    shutil.rmtree(os.path.join(WORK, "selftest-%d" % os.getpid()), ignore_errors=True)
    print("%d passed, %d failed" % (len(PERTURBATIONS) + 2 - bad, bad))
    return 1 if bad else 0


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--count", type=int, default=3000, help=argparse.SUPPRESS)
    ap.add_argument("--len", type=int, default=50, help=argparse.SUPPRESS)
    ap.add_argument("--time-budget", type=float, default=120, help=argparse.SUPPRESS)
    ap.add_argument("--jobs", type=int, default=2 * (os.cpu_count() or 1), help=argparse.SUPPRESS)
    ap.add_argument("--shim", default=os.path.join(ROOT, "target", "release", "libaio_shim.so"), help=argparse.SUPPRESS)
    ap.add_argument("--variant", default="alt", choices=["alt", "plain", "fob64", "both"], help=argparse.SUPPRESS)
    ap.add_argument("--no-regress", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--replay", nargs="+", help=argparse.SUPPRESS)
    ap.add_argument("--save", help=argparse.SUPPRESS)
    ap.add_argument("--from", dest="from_file", help=argparse.SUPPRESS)
    ap.add_argument("--minimize", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--print", dest="print_seed", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--selfcheck", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--selftest", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--avoid", default="", help=argparse.SUPPRESS)
    ap.add_argument("--keep", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    avoid = [x for x in a.avoid.split(",") if x]
    for x in avoid:
        if x not in ("lio-opcode-alias", "fsync-prio-order", "badfd-einval"):
            ap.error("unknown --avoid %s" % x)
    # Where the shim differs from glibc on purpose (glibc is wrong; README
    # "Differences from glibc"), random sequences step around it and a
    # regress test with an .expected transcript holds the shim to the
    # correct behaviour.
    if not a.selfcheck and not a.selftest:
        avoid = sorted(set(avoid) | set(INTENDED))
    shim = os.path.abspath(a.shim)

    if a.print_seed is not None:
        sys.stdout.write(generate(a.print_seed, a.len, avoid))
        return 0
    if a.save:
        if a.from_file:
            with open(a.from_file) as f:
                text = f.read()
        elif a.seed is not None:
            text = generate(a.seed, a.len, avoid)
        else:
            ap.error("--save needs --seed S (and the --len it failed with) or --from FILE")
        os.makedirs(REGRESS, exist_ok=True)
        dest = os.path.join(REGRESS, a.save + ".seq")
        with open(dest, "w") as f:
            f.write("# regress %s (saved by fuzz.py --save)\n" % a.save + text)
        print("fuzz: saved %s; every run replays it (both variants)" % os.path.relpath(dest, ROOT))
        return 0

    if not build_drivers():
        print("0 passed, 1 failed")
        return 1
    if a.selftest:
        os.makedirs(WORK, exist_ok=True)
        return selftest(a, shim)
    if not a.selfcheck and not os.path.isfile(shim):
        print("fuzz: shim not found: %s (build it with 'cargo build --release', or pass --shim PATH)" % shim)
        return 1
    os.makedirs(WORK, exist_ok=True)

    items = []
    if a.replay:
        for path in a.replay:
            with open(path) as f:
                text = f.read()
            name = "replay-" + os.path.basename(path).rsplit(".", 1)[0]
            for v in ("plain", "fob64"):
                items.append(("replay", name, None, v, text))
    else:
        if not a.no_regress and os.path.isdir(REGRESS):
            for fn in sorted(os.listdir(REGRESS)):
                if fn.endswith(".seq"):
                    with open(os.path.join(REGRESS, fn)) as f:
                        text = f.read()
                    for v in ("plain", "fob64"):
                        items.append(("regress", "regress-" + fn[:-4], None, v, text))
    base = a.seed if a.seed is not None else random.SystemRandom().randrange(1, 2**31)
    nrand = 0 if a.replay else a.count

    def random_items():
        for i in range(nrand):
            s = base + i
            if a.variant == "both":
                vs = ("plain", "fob64")
            elif a.variant == "alt":
                vs = ("plain",) if s % 2 == 0 else ("fob64",)
            else:
                vs = (a.variant,)
            for v in vs:
                yield ("random", "seed-%d" % s, s, v, None)

    mode = "glibc vs glibc (selfcheck)" if a.selfcheck else "glibc vs shim %s" % shim
    settings = " ".join("%s=%s" % (k, v) for k, v in sorted(os.environ.items())
                        if k.startswith("AIO_SHIM_") and k != "AIO_SHIM_STATS")
    print("fuzz: %s%s; seeds %d..%d, %d ops each, %d regress runs, %d jobs, budget %.0f s"
          % (mode, (" (%s)" % settings) if settings and not a.selfcheck else "", base, base + max(nrand, 1) - 1,
             a.len, len(items), a.jobs, a.time_budget))
    sys.stdout.flush()
    other_mode = "glibc" if a.selfcheck else "shim"
    run_dir = os.path.join(WORK, "run-%d" % os.getpid())
    cfg = {"len": a.len, "avoid": avoid, "shim": shim, "other": other_mode, "keep": a.keep, "work": run_dir}
    start = time.time()
    failures = []
    n_run = {"random": 0, "regress": 0, "replay": 0}
    n_ops = 0
    stopped = False

    def feed():
        nonlocal stopped
        for it in items:
            yield it
        for it in random_items():
            if time.time() - start > a.time_budget:
                stopped = True
                return
            yield it

    ctx = multiprocessing.get_context("fork")
    results = queue.Queue()
    with ctx.Pool(a.jobs, initializer=_init, initargs=(cfg,)) as pool:
        source = feed()
        in_flight = 0

        def submit_next():
            nonlocal in_flight
            try:
                item = next(source)
            except StopIteration:
                return False
            in_flight += 1
            pool.apply_async(_task, (item,), callback=results.put,
                             error_callback=lambda e: results.put(("error", repr(e))))
            return True

        for _ in range(2 * a.jobs):
            if not submit_next():
                break
        while in_flight:
            res = results.get()
            in_flight -= 1
            submit_next()
            if res[0] == "error":
                raise RuntimeError("worker failed: " + res[1])
            kind, name, seed, variant, ok, rep, nops, wdir, text = res
            n_run[kind] += 1
            n_ops += nops
            if ok:
                if kind != "random":
                    print("PASS %s [%s]" % (name, variant))
                continue
            failures.append((kind, name, seed, variant, rep, wdir, text))
            if len(failures) > MAX_KEPT:
                shutil.rmtree(wdir, ignore_errors=True)   # the seed reproduces it
            if len(failures) > MAX_DETAILED:
                print("FAIL %s [%s]: %s" % (name, variant, rep.splitlines()[0]))
                continue
            print("FAIL %s [%s]" % (name, variant))
            print("    " + rep.replace("\n", "\n    "))
            if kind == "random":
                print("    repro: abi-tests/fuzz/fuzz.sh --seed %d --count 1 --len %d --variant %s --no-regress%s%s"
                      % (seed, a.len, variant, "" if a.shim == ap.get_default("shim") else " --shim " + a.shim,
                         (" --avoid " + a.avoid) if avoid else ""))
                print("    save:  abi-tests/fuzz/fuzz.sh --save NAME --seed %d --len %d%s"
                      % (seed, a.len, (" --avoid " + a.avoid) if avoid else ""))
            print("    sequence and transcripts: %s/{seq,glibc/out,other/out}" % os.path.relpath(wdir, ROOT))
            sys.stdout.flush()

    if a.minimize:
        done_min = set()
        for kind, name, seed, variant, rep, wdir, text in failures:
            if name in done_min or "shim not loaded" in rep or seed is None:
                continue
            done_min.add(name)
            print("fuzz: minimizing %s [%s] ..." % (name, variant))
            sys.stdout.flush()
            small, steps = minimize(seed, a.len, avoid, variant, wdir + ".min", shim, other_mode)
            small = small.replace("# seed=%d len=%d\n" % (seed, a.len),
                                  "# seed=%d len=%d steps=%s (minimized)\n" % (seed, a.len, ",".join(map(str, steps))))
            dest = wdir + ".min.seq"
            with open(dest, "w") as f:
                f.write(small)
            ok, rep2 = check(small, variant, wdir + ".min", shim, other_mode)
            print("fuzz: minimized to %d lines: %s" % (len(small.splitlines()), os.path.relpath(dest, ROOT)))
            print("    " + (rep2 or "(does not fail on its own any more)").replace("\n", "\n    "))
            print("    save:  abi-tests/fuzz/fuzz.sh --save NAME --from %s" % os.path.relpath(dest, ROOT))

    el = time.time() - start
    total = sum(n_run.values())
    print("fuzz: %d random sequences%s, %d regress runs, %d replay runs, %d operations, %.1f s"
          % (n_run["random"], " (time budget reached)" if stopped else "", n_run["regress"], n_run["replay"],
             n_ops, el))
    if failures:
        print("failed (first difference):")
        for kind, name, seed, variant, rep, wdir, text in failures[:MAX_SUMMARY]:
            print("  %s [%s]: %s" % (name, variant, rep.splitlines()[0]))
        if len(failures) > MAX_SUMMARY:
            print("  ... and %d more" % (len(failures) - MAX_SUMMARY))
    elif not a.keep:
        shutil.rmtree(run_dir, ignore_errors=True)
    print("%d passed, %d failed" % (total - len(failures), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
