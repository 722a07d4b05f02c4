"""Mounting jumpfs as the lab's normal user, and looking at the result.

Everything on a mount runs as lab.JFS_USER (a FUSE mount without allow_other
is closed to every other user, root included); the backend's files are host
files, so the tests compare with them directly.
"""

import hashlib
import os
import subprocess
import time

import lab as labmod


def mount(jumpfs_bin, mountpoint, source=labmod.SERVER3, *options, env=None, timeout=60):
    """Runs `jumpfs SOURCE MOUNTPOINT OPTIONS...` as JFS_USER (daemon mode).

    Returns the CompletedProcess; on exit status 0 the mount is up.
    """
    return labmod.as_user([str(jumpfs_bin), source, str(mountpoint), *options],
                          timeout=timeout, env=_env(env))


def mount_ok(jumpfs_bin, mountpoint, source=labmod.SERVER3, *options, env=None):
    proc = mount(jumpfs_bin, mountpoint, source, *options, env=env)
    assert proc.returncode == 0, f"jumpfs failed:\n{proc.stdout}{proc.stderr}"
    labmod.wait_for_mount(mountpoint)
    return proc


def _env(extra):
    env = dict(os.environ)
    env.pop("SSH_AUTH_SOCK", None)  # the lab user has no agent; keys only
    if extra:
        env.update(extra)
    return env


def unmount(mountpoint):
    proc = labmod.as_user(["fusermount3", "-u", str(mountpoint)])
    assert proc.returncode == 0, proc.stderr
    deadline = time.monotonic() + 10
    while labmod.is_mounted(mountpoint) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not labmod.is_mounted(mountpoint)


def sh(command, check=True, timeout=120):
    """Runs a shell command as JFS_USER; returns stdout."""
    proc = labmod.as_user(["sh", "-c", command], timeout=timeout)
    if check:
        assert proc.returncode == 0, (f"{command!r} exited {proc.returncode}:\n"
                                      f"{proc.stdout}{proc.stderr}")
    return proc.stdout


def py(code, check=True, timeout=120):
    """Runs Python code as JFS_USER; returns stdout."""
    proc = labmod.as_user(["/usr/bin/python3", "-c", code], timeout=timeout)
    if check:
        assert proc.returncode == 0, f"python as {labmod.JFS_USER} failed:\n{proc.stderr}"
    return proc.stdout


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def jumpfs_pids(mountpoint):
    return labmod._pids_mounting(os.path.realpath(mountpoint))


def children_of(pid):
    out = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", str(pid)],
                         capture_output=True, text=True).stdout
    return [line.split(None, 1) for line in out.splitlines() if line.strip()]
