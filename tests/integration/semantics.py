"""Helpers shared by test_semantics.py and test_workflows.py: mounts of our
own (one daemon each, -o no_share, so that the binary under test serves
them and its RSS can be read), scratch directories on the backend, Python
snippets run as the lab user, and tmpfs mounts seen by the backend's sshd.
"""

import contextlib
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pytest

import jfs
import lab as labmod

BACKEND_HOME = labmod.BACKEND_HOME
SANITIZER_LOGS = Path("/tmp/jumpfs-sanitizer-logs")

# Prepended to every snippet run by run_py().
PRELUDE = """\
import ctypes, errno, json, os, stat, sys, threading, time

def err(f, *a, **k):
    '''0 if f(*a, **k) succeeds, else the errno's name (ENOENT...).'''
    try:
        f(*a, **k)
        return 0
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))

def put(path, data, mode='wb'):
    with open(path, mode) as f:
        f.write(data)

def get(path):
    with open(path, 'rb') as f:
        return f.read()
"""


def run_py(code, timeout=300, **values):
    """Runs code as the lab user, with PRELUDE and NAME = repr(value) for
    each keyword first. Returns the JSON of its last output line, if any,
    else the output."""
    head = "".join(f"{k} = {v!r}\n" for k, v in values.items())
    out = jfs.py(PRELUDE + head + textwrap.dedent(code), timeout=timeout)
    lines = out.strip().splitlines()
    if lines:
        try:
            return json.loads(lines[-1])
        except ValueError:
            pass
    return out


def new_mountpoint():
    pw = pwd.getpwnam(labmod.JFS_USER)
    path = Path(tempfile.mkdtemp(prefix="jumpfs-mnt-", dir="/tmp"))
    os.chown(path, pw.pw_uid, pw.pw_gid)
    path.chmod(0o755)
    return path


def detach_copies(path):
    """Lazily unmounts copies of the FUSE mount at path in other mount
    namespaces. `ip netns exec` (the lab's sshds, relays) copies every mount
    of the host into the namespace it makes; a copy made while we were
    mounted keeps the FUSE connection alive after our unmount, so the
    daemon would wait for requests forever."""
    path = os.path.realpath(path)
    own = os.readlink("/proc/self/ns/mnt")
    seen = {own}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ns = os.readlink(f"/proc/{entry}/ns/mnt")
            if ns in seen:
                continue
            seen.add(ns)
            with open(f"/proc/{entry}/mountinfo") as f:
                mounted = any(line.split()[4] == path and " - fuse" in line for line in f)
        except OSError:
            continue
        if mounted:
            subprocess.run(["nsenter", "-t", entry, "-m", "umount", "-l", path],
                           capture_output=True)


def _threads(pid):
    """What each thread of pid is doing (gdb backtraces when gdb is there)."""
    out = []
    for task in sorted(Path(f"/proc/{pid}/task").iterdir()):
        with contextlib.suppress(OSError):
            out.append(f"{(task / 'comm').read_text().strip()}: {(task / 'wchan').read_text()}")
    if shutil.which("gdb"):
        proc = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "thread apply all bt"],
                              capture_output=True, text=True, timeout=60)
        out.append(proc.stdout[-12000:])
    return "\n".join(out)


def _reports():
    return set(SANITIZER_LOGS.iterdir()) if SANITIZER_LOGS.is_dir() else set()


@contextlib.contextmanager
def own_mount(jumpfs_bin, config, *options, source=labmod.SERVER3):
    """Mounts SOURCE with -o no_share[,options] on a fresh mount point;
    yields (mount point, daemon pid). Unmounts, waits for the daemon to
    exit and, with --sanitized, fails on any report it left."""
    sanitized = config.getoption("--sanitized")
    before = _reports()
    path = new_mountpoint()
    try:
        jfs.mount_ok(jumpfs_bin, path, source, "-o", ",".join(("no_share",) + options))
        pids = jfs.jumpfs_pids(path)
        assert len(pids) == 1, f"expected one daemon of our own, found {pids}"
        yield path, pids[0]
        if labmod.is_mounted(path):
            jfs.unmount(path)
        detach_copies(path)
        assert labmod._wait_pid_gone(pids[0], 15), \
            f"the daemon did not exit after unmount:\n{_threads(pids[0])}"
    finally:
        labmod.cleanup_mount(path)
        detach_copies(path)
        with contextlib.suppress(OSError):
            path.rmdir()
    if sanitized:
        import time
        time.sleep(0.2)
        new = sorted(_reports() - before)
        if new:
            text = "\n".join(f"== {p}\n{p.read_text(errors='replace')[:4000]}" for p in new)
            pytest.fail(f"sanitizer reports from the daemon:\n{text}", pytrace=False)


def make_scratch(prefix="jfs-sem-"):
    """A fresh directory in the backend user's home (mode 0777, so root
    can look and the mount can write); returns its name."""
    pw = pwd.getpwnam(labmod.BACKEND.user)
    path = tempfile.mkdtemp(prefix=prefix, dir=BACKEND_HOME)
    os.chown(path, pw.pw_uid, pw.pw_gid)
    os.chmod(path, 0o777)
    return os.path.basename(path)


def remove_scratch(name):
    shutil.rmtree(BACKEND_HOME / name, ignore_errors=True)


def backend_chown(path):
    pw = pwd.getpwnam(labmod.BACKEND.user)
    os.lchown(path, pw.pw_uid, pw.pw_gid)


# --- file systems the backend's sftp-server sees ---------------------------
#
# The lab's sshds run in mount namespaces of their own (ip netns exec), and
# the host's / is not a shared mount: a tmpfs mounted on the host under the
# backend user's home is invisible to the sftp-server. So it is mounted into
# every mount namespace that the backend's sshd and its sftp-servers live in.

def _backend_namespaces():
    """{mount namespace: a pid in it} of the backend's sshd listener and of
    every process of the backend user."""
    uid = pwd.getpwnam(labmod.BACKEND.user).pw_uid
    pids = []
    pidfile = labmod.STATE_DIR / "backend" / "sshd.pid"
    with contextlib.suppress(OSError, ValueError):
        pids.append(int(pidfile.read_text().split()[0]))
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    pids.append(int(entry))
    spaces = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            spaces.setdefault(os.readlink(f"/proc/{pid}/ns/mnt"), pid)
    return spaces


@contextlib.contextmanager
def backend_tmpfs(path, options):
    """A tmpfs (mount(8) options, e.g. 'size=1m') on path, as the backend
    sees it; path is created if missing. Unmounted afterwards."""
    os.makedirs(path, exist_ok=True)
    own = os.readlink("/proc/self/ns/mnt")
    done = []
    try:
        for ns, pid in _backend_namespaces().items():
            cmd = ["mount", "-t", "tmpfs", "-o", f"{options},mode=0777", "tmpfs", str(path)]
            if ns != own:
                cmd = ["nsenter", "-t", str(pid), "-m", *cmd]
            subprocess.run(cmd, check=True, capture_output=True, text=True)
            done.append((ns, pid))
        assert done, "no process of the backend found"
        yield path
    finally:
        for ns, pid in done:
            cmd = ["umount", "-l", str(path)]
            if ns != own:
                cmd = ["nsenter", "-t", str(pid), "-m", *cmd]
            subprocess.run(cmd, capture_output=True)
