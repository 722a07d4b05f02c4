"""A broken hop heals, nothing hangs, nothing is lost (through the 2-hop lab).

Mounts use short keepalives (-o ServerAliveInterval=1,ServerAliveCountMax=3)
so that a dead hop is found within about three seconds."""

import os
import signal
import subprocess
import threading
import time

import pytest

import jfs
import lab as labmod

# A daemon of its own: a shared one could hold hops made with other
# keepalive settings, and killing another test's daemon would end it.
KEEPALIVE = ("-o", "ServerAliveInterval=1,ServerAliveCountMax=3,no_share")
BACKEND_HOME = labmod.BACKEND_HOME


@pytest.fixture
def mounted(lab, jumpfs_bin, mountpoint):
    jfs.mount_ok(jumpfs_bin, mountpoint, labmod.SERVER3, *KEEPALIVE)
    yield mountpoint
    labmod.cleanup_mount(mountpoint)


@pytest.fixture
def bigfile():
    path = BACKEND_HOME / "jfs-resilience-big.bin"
    with open(path, "wb") as f:
        f.write(os.urandom(64 << 20))
    yield path
    path.unlink()


def until_it_works(command, within=20):
    """Runs command until it succeeds (the mount recovers, with backoff)."""
    deadline = time.monotonic() + within
    while True:
        proc, _ = timed(command)
        if proc.returncode == 0 or time.monotonic() > deadline:
            return proc
        time.sleep(0.5)


def timed(command, timeout=60):
    start = time.monotonic()
    proc = labmod.as_user(["sh", "-c", command], timeout=timeout)
    return proc, time.monotonic() - start


def test_backend_session_killed_during_read(lab, mounted, bigfile):
    reader = labmod.popen_as_user(["sh", "-c", f"cat {mounted}/{bigfile.name} | sha256sum"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.3)
    lab.kill_sessions("backend")
    out, err = reader.communicate(timeout=60)
    expected = jfs.sha256_file(bigfile)
    # The read may fail or complete (if it finished first); it must not hang
    # and must never return wrong data silently.
    if reader.returncode == 0 and "error" not in err.lower():
        assert out.split()[0] == expected
    # The next read works without a remount.
    proc, _ = timed(f"sha256sum {mounted}/{bigfile.name}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == expected


def test_jump2_killed_mid_write_keeps_fsynced_data_and_jump1_login(lab, mounted):
    name = "jfs-resilience-write.bin"
    target = BACKEND_HOME / name
    try:
        before = lab.logins("jump1")
        # First half written and fsync'd, then jump2's session dies, then the
        # second half goes through a rebuilt chain suffix.
        code = f"""
import os, time, hashlib
path = {str(mounted / name)!r}
first = os.urandom(8 << 20)
with open(path, "wb") as f:
    f.write(first)
    f.flush()
    os.fsync(f.fileno())
print(hashlib.sha256(first).hexdigest(), flush=True)
"""
        digest_first = jfs.py(code).strip()
        lab.kill_sessions("jump2")
        time.sleep(0.5)
        second = jfs.py(f"""
import os, hashlib, time
data = os.urandom(4 << 20)
for attempt in range(20):
    try:
        with open({str(mounted / name)!r}, "ab") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        break
    except OSError:
        time.sleep(0.5)
else:
    raise SystemExit("append never succeeded")
print(hashlib.sha256(data).hexdigest())
""").strip()
        content = target.read_bytes()
        import hashlib
        assert len(content) == 12 << 20
        assert hashlib.sha256(content[:8 << 20]).hexdigest() == digest_first
        assert hashlib.sha256(content[8 << 20:]).hexdigest() == second
        after = lab.logins("jump1")
        assert after == before, f"jump1 was logged into again ({before} -> {after})"
    finally:
        target.unlink(missing_ok=True)


def test_jump2_killed_on_an_idle_mount_keeps_the_jump1_login(lab, mounted):
    """Nothing uses the mount for longer than the daemon's pruning interval
    (2 s) after jump2's session dies: jump1, healthy but without a channel
    for that moment, stays logged in for the reconnect (the mount pins its
    chain)."""
    jfs.py(f"import os; os.listdir({str(mounted)!r})")
    before = lab.logins("jump1")
    lab.kill_sessions("jump2")
    time.sleep(5)
    jfs.py(f"""
import os, time
for attempt in range(20):
    try:
        os.listdir({str(mounted)!r})
        break
    except OSError:
        time.sleep(0.5)
else:
    raise SystemExit("the mount never came back")
""")
    after = lab.logins("jump1")
    assert after == before, f"jump1 was logged into again ({before} -> {after})"


def test_link_down_operations_return_then_recover(lab, mounted):
    jfs.sh(f"ls {mounted} >/dev/null")
    lab.link("jump1-jump2", "down")
    try:
        proc, elapsed = timed(f"stat {mounted}/not-cached-1", timeout=30)
        assert proc.returncode != 0
        assert elapsed < 10, f"stat took {elapsed:.1f}s with a dead hop"
        assert "not connected" in proc.stderr.lower() or "input/output" in proc.stderr.lower()
        # Later operations fail fast too, rather than each waiting again.
        proc, elapsed = timed(f"ls {mounted}/", timeout=30)
        assert proc.returncode != 0 and elapsed < 10
    finally:
        lab.link("jump1-jump2", "up")
    proc = until_it_works(f"cat {mounted}/hello.txt")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == labmod.BACKEND_HELLO.read_text()


def test_backend_sshd_stopped_then_started(lab, mounted):
    lab.kill_sessions("backend")
    lab.sshd("backend", "stop")
    try:
        proc, elapsed = timed(f"stat {mounted}/not-cached-2", timeout=30)
        assert proc.returncode != 0 and elapsed < 10
    finally:
        lab.sshd("backend", "start")
    proc = until_it_works(f"cat {mounted}/hello.txt")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_unmounts_cleanly(lab, jumpfs_bin, mountpoint, sig):
    jfs.mount_ok(jumpfs_bin, mountpoint)
    (pid,) = jfs.jumpfs_pids(mountpoint)
    os.kill(pid, sig)
    assert labmod._wait_pid_gone(pid, 10)
    assert not labmod.is_mounted(mountpoint)


def test_lazy_unmount_of_a_dead_mount(lab, jumpfs_bin, mountpoint):
    jfs.mount_ok(jumpfs_bin, mountpoint)
    (pid,) = jfs.jumpfs_pids(mountpoint)
    os.kill(pid, signal.SIGKILL)
    assert labmod._wait_pid_gone(pid, 10)
    proc = labmod.as_user(["fusermount3", "-uz", str(mountpoint)])
    assert proc.returncode == 0, proc.stderr
    assert not labmod.is_mounted(mountpoint)


def test_parallel_operations_while_a_hop_is_killed(lab, mounted):
    for i in range(16):
        (BACKEND_HOME / f"jfs-par-{i}").write_bytes(os.urandom(256 << 10))
    try:
        procs = []
        for i in range(16):
            script = (f"for n in $(seq 1 13); do cat {mounted}/jfs-par-{i} >/dev/null; "
                      f"ls {mounted} >/dev/null; done; echo done")
            procs.append(labmod.popen_as_user(["sh", "-c", script], stdout=subprocess.PIPE,
                                              stderr=subprocess.DEVNULL))
        time.sleep(0.5)
        lab.kill_sessions("jump2")
        for p in procs:
            out, _ = p.communicate(timeout=120)  # every process returns
            assert "done" in out
        (pid,) = jfs.jumpfs_pids(mounted)  # the daemon survived
        proc = until_it_works(f"wc -c < {mounted}/jfs-par-0")
        assert proc.stdout.strip() == str(256 << 10)
    finally:
        for i in range(16):
            (BACKEND_HOME / f"jfs-par-{i}").unlink(missing_ok=True)
