#!/usr/bin/python3
"""fsx-style random I/O verifier (stdlib only).

Runs random operations on FILE (on a jumpfs mount) and the same operations on
a local shadow file, and compares every read byte for byte:

    writes at random offsets (holes included), reads at random offsets,
    truncates (through an fd and by path) that shrink and extend, appends
    through an O_APPEND fd, runs of sequential reads (the daemon's read-ahead)
    interleaved with writes through the same and through other fds, fstat
    sizes, and fds that are closed and re-opened now and then.

Up to three descriptors are open on FILE at once (two O_RDWR, one
O_WRONLY|O_APPEND) so that data written through one and read through another
must agree. A mismatch prints the seed, the operation number, the first
differing offset and the tail of the operation log, and exits 1. At the end
the whole file is compared again. The last line of output is a JSON summary.

    fsx.py FILE [--ops N] [--seed S] [--max-size BYTES] [--max-op BYTES]

The same seed replays the same operations (given the same options).
"""

import argparse
import collections
import json
import os
import random
import sys
import tempfile
import time


class Mismatch(Exception):
    pass


class Fsx:
    def __init__(self, path, shadow_path, seed, max_size, max_op, log_len=40):
        self.worst_op = 0.0  # seconds of the slowest operation
        self.path = path
        self.shadow_path = shadow_path
        self.rng = random.Random(seed)
        self.seed = seed
        self.max_size = max_size
        self.max_op = max_op
        self.log = collections.deque(maxlen=log_len)
        self.counts = collections.Counter()
        self.opno = 0
        self.size = 0  # the shadow's size, as we believe it
        for p in (path, shadow_path):
            fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
            os.close(fd)
        # slot -> (fd on the file, fd on the shadow); None when closed
        self.slots = {"a": None, "b": None, "app": None}
        for slot in self.slots:
            self._open(slot)
        self.seq = None  # (slot, next offset) of a sequential read run

    # --- descriptors -----------------------------------------------------

    def _flags(self, slot):
        if slot == "app":
            return os.O_WRONLY | os.O_APPEND
        return os.O_RDWR

    def _open(self, slot):
        flags = self._flags(slot)
        self.slots[slot] = (os.open(self.path, flags), os.open(self.shadow_path, flags))

    def _close(self, slot):
        fds = self.slots[slot]
        if fds is not None:
            os.close(fds[0])
            os.close(fds[1])
        self.slots[slot] = None

    def close_all(self):
        for slot in self.slots:
            self._close(slot)

    def _fds(self, slot):
        if self.slots[slot] is None:
            self._open(slot)
        return self.slots[slot]

    # --- helpers -----------------------------------------------------------

    def _note(self, text):
        self.log.append(f"{self.opno}: {text}")

    def _data(self, n):
        # Distinct bytes per op so that a stale block is recognisable.
        tag = self.opno & 0xff
        return bytes((tag + i * 7) & 0xff for i in range(n)) if n < 64 else \
            (bytes([tag]) + self.rng.randbytes(n - 1))

    def _read_exact(self, fd, n, off):
        out = bytearray()
        while len(out) < n:
            chunk = os.pread(fd, n - len(out), off + len(out))
            if not chunk:
                break
            out += chunk
        return bytes(out)

    def _compare(self, what, got, want, off):
        if got == want:
            return
        first = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]),
                     min(len(got), len(want)))
        raise Mismatch(f"{what}: {len(got)} bytes read, {len(want)} expected; first "
                       f"difference at file offset {off + first} (got "
                       f"{got[first:first + 8].hex()}, want {want[first:first + 8].hex()})")

    # --- operations --------------------------------------------------------

    def op_write(self, slot=None):
        slot = slot or self.rng.choice("ab")
        fd, sfd = self._fds(slot)
        n = self.rng.randint(1, self.max_op)
        # Mostly inside the file, sometimes past its end (a hole).
        limit = self.max_size - n
        off = self.rng.randint(0, max(0, min(limit, self.size + self.max_op)))
        data = self._data(n)
        self._note(f"write {slot} off={off} len={n}")
        w = os.pwrite(fd, data, off)
        if w != n:
            raise Mismatch(f"pwrite returned {w}, wanted {n}")
        os.pwrite(sfd, data, off)
        self.size = max(self.size, off + n)

    def op_append(self):
        fd, sfd = self._fds("app")
        n = self.rng.randint(1, min(self.max_op, 4096))
        if self.size + n > self.max_size:
            return self.op_truncate(shrink=True)
        data = self._data(n)
        self._note(f"append len={n} (at {self.size})")
        w = os.write(fd, data)
        if w != n:
            raise Mismatch(f"append returned {w}, wanted {n}")
        os.write(sfd, data)
        self.size += n

    def op_read(self, slot=None, off=None, n=None):
        slot = slot or self.rng.choice("ab")
        fd, sfd = self._fds(slot)
        if n is None:
            n = self.rng.randint(1, self.max_op)
        if off is None:
            off = self.rng.randint(0, self.size + 100) if self.size else 0
        self._note(f"read {slot} off={off} len={n}")
        want = self._read_exact(sfd, n, off)
        got = self._read_exact(fd, n, off)
        self._compare(f"read {slot} off={off} len={n}", got, want, off)
        return len(got)

    def op_truncate(self, shrink=None):
        if shrink is None:
            shrink = self.rng.random() < 0.5
        if shrink:
            new = self.rng.randint(0, self.size) if self.size else 0
        else:
            new = self.rng.randint(self.size, self.max_size)
        how = self.rng.choice(("a", "b", "path"))
        self._note(f"truncate {how} {self.size} -> {new}")
        if how == "path":
            os.truncate(self.path, new)
            os.truncate(self.shadow_path, new)
        else:
            fd, sfd = self._fds(how)
            os.ftruncate(fd, new)
            os.ftruncate(sfd, new)
        self.size = new

    def op_stat(self):
        slot = self.rng.choice("ab")
        fd, sfd = self._fds(slot)
        self._note(f"fstat {slot}")
        got = os.fstat(fd).st_size
        want = os.fstat(sfd).st_size
        if got != want or want != self.size:
            raise Mismatch(f"fstat {slot}: size {got}, shadow {want} (expected {self.size})")
        got = os.stat(self.path).st_size
        if got != want:
            raise Mismatch(f"stat by path: size {got}, shadow {want}")

    def op_reopen(self):
        slot = self.rng.choice(("a", "b", "app"))
        self._note(f"reopen {slot}")
        self._close(slot)
        self._open(slot)

    def op_sequential(self):
        """A run of sequential reads (read-ahead kicks in), with writes
        into the region just ahead of the reader through this fd or
        another one, or a truncate, between them."""
        slot = self.rng.choice("ab")
        off = self.rng.randint(0, max(0, self.size // 2))
        step = self.rng.choice((4096, 16384, 32000, 65536))
        self._note(f"sequential run {slot} from {off} by {step}")
        for _ in range(self.rng.randint(3, 10)):
            r = self.rng.random()
            if r < 0.25:
                # write just ahead of the reader, through either fd
                wslot = self.rng.choice(("a", "b"))
                fd, sfd = self._fds(wslot)
                n = self.rng.randint(1, min(self.max_op, 8192))
                woff = min(off + self.rng.randint(0, 2 * step), self.max_size - n)
                data = self._data(n)
                self._note(f"  write-ahead {wslot} off={woff} len={n}")
                if os.pwrite(fd, data, woff) != n:
                    raise Mismatch("short pwrite")
                os.pwrite(sfd, data, woff)
                self.size = max(self.size, woff + n)
            elif r < 0.30:
                self.op_truncate()
            elif r < 0.35:
                self.op_append()
            got = self.op_read(slot, off, step)
            off += max(got, 1)
            self.opno += 1
            self.counts["seq-read"] += 1

    def run(self, ops):
        table = [
            (self.op_write, 30), (self.op_read, 30), (self.op_truncate, 6),
            (self.op_append, 6), (self.op_stat, 8), (self.op_reopen, 4),
            (self.op_sequential, 4),
        ]
        funcs = [f for f, w in table for _ in range(w)]
        while self.opno < ops:
            f = self.rng.choice(funcs)
            self.counts[f.__name__[3:]] += 1
            start = time.monotonic()
            f()
            self.worst_op = max(self.worst_op, time.monotonic() - start)
            self.opno += 1
        self._note("final compare")
        self.op_stat()
        fd, sfd = self._fds("a")
        self._compare("final whole-file read", self._read_exact(fd, self.size + 1, 0),
                      self._read_exact(sfd, self.size + 1, 0), 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", help="test file (created or truncated), on the mount")
    ap.add_argument("--ops", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=None, help="default: from the clock")
    ap.add_argument("--max-size", type=int, default=1 << 20)
    ap.add_argument("--max-op", type=int, default=64 << 10)
    ap.add_argument("--shadow", default=None, help="shadow file (default: a temp file)")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else int(time.time() * 1000) & 0xffffffff
    print(f"fsx: seed {seed}, {args.ops} ops, max size {args.max_size}, max op {args.max_op}",
          flush=True)
    if args.shadow:
        shadow = args.shadow
    else:
        fd, shadow = tempfile.mkstemp(prefix="fsx-shadow-")
        os.close(fd)
    start = time.monotonic()
    fsx = Fsx(args.file, shadow, seed, args.max_size, args.max_op)
    status = 0
    try:
        fsx.run(args.ops)
    except (Mismatch, OSError) as e:
        status = 1
        print(f"fsx: FAILED at op {fsx.opno} (seed {seed}): {type(e).__name__}: {e}")
        print("fsx: last operations:")
        for line in fsx.log:
            print("   ", line)
    finally:
        fsx.close_all()
        if not args.shadow:
            os.unlink(shadow)
    elapsed = time.monotonic() - start
    print(json.dumps({"seed": seed, "ops": fsx.opno, "mismatches": status,
                      "size": fsx.size, "seconds": round(elapsed, 2),
                      "worst_op_seconds": round(fsx.worst_op, 3),
                      "counts": dict(fsx.counts)}))
    return status


if __name__ == "__main__":
    sys.exit(main())
