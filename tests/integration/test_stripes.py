"""Write stripes (-o write_stripes, default 4) through the 2-hop lab.

A big file's queued writes are spread over the mount's first channel (the
chain's shared session) and channels of sessions of their own at the
target: one more login there per stripe, none at the jump hosts, whose
sessions stay shared (docs/design.md, "Striping writes"). Where the
target's login needed a password, the stripes are channels of the shared
session: nobody is asked twice, and the server sees one password login.
The data must arrive whole either way; the server's own logs count the
logins."""

import json
import os
import shutil
from pathlib import Path

import pytest

import jfs
import lab as labmod
from semantics import BACKEND_HOME, make_scratch, remove_scratch
from test_auth import PASSWORD, accepted, failed, run_jumpfs

MIB = 1 << 20
SIZE = 48 * MIB + 123


@pytest.fixture
def scratch():
    name = make_scratch("jfs-stripe-")
    yield name
    remove_scratch(name)


def write_big(mountpoint, scratch, name):
    """SIZE pseudo-random bytes written in 1 MiB writes and fsync'd as the
    lab user; returns their sha256."""
    return jfs.py(f"""
import hashlib, os, random
rnd = random.Random(7)
h = hashlib.sha256()
fd = os.open({str(mountpoint)!r} + "/{scratch}/{name}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
left = {SIZE}
while left:
    block = rnd.randbytes(min(left, 1 << 20))
    os.write(fd, block)
    h.update(block)
    left -= len(block)
os.fsync(fd)
os.close(fd)
print(h.hexdigest())
""", timeout=300).strip()


def hop_status(jumpfs_bin, mountpoint):
    proc = labmod.as_user([str(jumpfs_bin), "status", "--json", str(mountpoint)], timeout=30)
    assert proc.returncode == 0, proc.stderr
    mounts = json.loads(proc.stdout)["mounts"]
    assert len(mounts) == 1, mounts
    return mounts[0]["hops"]


def test_stripes_log_in_at_the_target_only_and_the_file_arrives_whole(
        lab, jumpfs_bin, mountpoint, scratch):
    before = labmod.all_logins()
    jfs.mount_ok(jumpfs_bin, mountpoint, labmod.SERVER3, "-o", "no_share")
    try:
        want = write_big(mountpoint, scratch, "big.bin")
        hops = hop_status(jumpfs_bin, mountpoint)
    finally:
        jfs.unmount(mountpoint)
    after = labmod.all_logins()
    # One login per jump host; at the target the shared session's and one
    # per extra stripe (write_stripes=4).
    assert {h: after[h] - before[h] for h in after} == {"jump1": 1, "jump2": 1, "backend": 4}
    assert [h["stripe_sessions"] for h in hops] == [0, 0, 3], hops
    assert [h["logins"] for h in hops] == [1, 1, 1], hops
    # The shared session at the target did not carry the whole file.
    assert hops[2]["bytes_out"] < SIZE, hops
    path = BACKEND_HOME / scratch / "big.bin"
    assert os.path.getsize(path) == SIZE
    assert jfs.sha256_file(path) == want


def test_write_stripes_1_logs_in_once(lab, jumpfs_bin, mountpoint, scratch):
    before = labmod.logins("backend")
    jfs.mount_ok(jumpfs_bin, mountpoint, labmod.SERVER3, "-o", "no_share,write_stripes=1")
    try:
        want = write_big(mountpoint, scratch, "one.bin")
    finally:
        jfs.unmount(mountpoint)
    assert labmod.logins("backend") == before + 1
    assert jfs.sha256_file(BACKEND_HOME / scratch / "one.bin") == want


def test_a_target_that_wants_a_password_is_not_asked_again(lab, jumpfs_bin, mountpoint, scratch):
    lab.run("password", "backend", "on")
    user = labmod.BACKEND.user
    ok, bad = accepted("backend", "password", user), failed("backend", "password", user)
    proc = run_jumpfs(jumpfs_bin, labmod.SERVER3, mountpoint, "-o", "password_stdin",
                      stdin_text=PASSWORD + "\n")
    assert proc.returncode == 0, proc.stderr
    labmod.wait_for_mount(mountpoint)
    try:
        want = write_big(mountpoint, scratch, "pw.bin")
        hops = hop_status(jumpfs_bin, mountpoint)
    finally:
        jfs.unmount(mountpoint)
    assert accepted("backend", "password", user) == ok + 1
    assert failed("backend", "password", user) == bad
    assert hops[2]["stripe_sessions"] == 0, hops
    assert jfs.sha256_file(BACKEND_HOME / scratch / "pw.bin") == want



def test_requests_never_wait_for_a_keepalive_while_stripes_are_up(
        lab, jumpfs_bin, mountpoint, scratch):
    # jump2's session then carries four channels. Reading one made libssh
    # keep another's data in its buffer with nothing left on the socket,
    # and the pump waited for the next packet, a keepalive: an operation of
    # fsx took up to ServerAliveInterval (20 s here) now and then.
    jfs.mount_ok(jumpfs_bin, mountpoint, labmod.SERVER3,
                 "-o", "no_share,ServerAliveInterval=20")
    script = Path(f"/tmp/jumpfs-fsx-stripes-{os.getpid()}.py")
    shadow = Path(f"/tmp/jumpfs-fsx-stripes-shadow-{os.getpid()}")
    shutil.copy(Path(__file__).parent / "fsx.py", script)
    script.chmod(0o644)
    try:
        proc = labmod.as_user(["/usr/bin/python3", str(script),
                               f"{mountpoint}/{scratch}/fsx.dat", "--ops", "3000",
                               "--seed", "4242", "--shadow", str(shadow)], timeout=600)
        hops = hop_status(jumpfs_bin, mountpoint)
    finally:
        script.unlink(missing_ok=True)
        shadow.unlink(missing_ok=True)
        jfs.unmount(mountpoint)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert hops[2]["stripe_sessions"] == 3, hops
    assert summary["mismatches"] == 0
    assert summary["worst_op_seconds"] < 5.0, summary
