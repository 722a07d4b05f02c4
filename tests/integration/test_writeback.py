"""Write-behind with replay, hard and soft mounts, and logins that fail on a
reconnect (fs/writeback.h, fs/remote.h), through the 2-hop lab.

Mounts use short keepalives (ServerAliveInterval=1, ServerAliveCountMax=2):
a dead hop is found within 2 s. A test that hangs a hard mount always ends
it through /sys/fs/fuse/connections/N/abort, so nothing can hang the suite.
"""

import hashlib
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import jfs
import lab as labmod
from semantics import BACKEND_HOME, make_scratch, remove_scratch

SAI, SACM = 1, 2
KEEPALIVE = f"ServerAliveInterval={SAI},ServerAliveCountMax={SACM},no_share"
MIB = 1 << 20


def _abort_fuse(mountpoint):
    """Ends every request of a (hung) FUSE mount: its connection's abort."""
    try:
        dev = os.stat(mountpoint).st_dev
    except OSError:
        dev = None
    if dev is None:
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            fields = line.split()
            if fields[4] == str(mountpoint):
                major, minor = fields[2].split(":")
                dev = os.makedev(int(major), int(minor))
    if dev is not None:
        abort = Path(f"/sys/fs/fuse/connections/{os.minor(dev)}/abort")
        if abort.exists():
            abort.write_text("1")


@pytest.fixture
def daemon_log():
    log = tempfile.NamedTemporaryFile(prefix="jumpfs-wb-", suffix=".log", delete=False)
    os.chmod(log.name, 0o666)
    yield Path(log.name)
    os.unlink(log.name)


@pytest.fixture
def scratch():
    name = make_scratch("jfs-wb-")
    yield name
    remove_scratch(name)


def _mount(jumpfs_bin, mountpoint, log, *options):
    """A daemon of its own in the foreground (its log in log), so that the
    test can read what it says."""
    opts = ",".join([KEEPALIVE, *options])
    daemon = labmod.popen_as_user([str(jumpfs_bin), labmod.SERVER3, str(mountpoint), "-f",
                                   "-o", opts],
                                  stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    labmod.wait_for_mount(mountpoint, timeout=30, proc=daemon)
    return daemon


def _unmount(mountpoint, daemon):
    _abort_fuse(mountpoint) if labmod.is_mounted(mountpoint) and daemon.poll() is not None \
        else None
    labmod.cleanup_mount(mountpoint, procs=[daemon])


def _source(path, mib, seed):
    """mib MiB of reproducible bytes in a file the lab user can read."""
    with open(path, "wb") as f:
        block = hashlib.sha256(str(seed).encode()).digest() * (MIB // 32)
        for i in range(mib):
            f.write(bytes([i & 0xff]) + block[1:])
    os.chmod(path, 0o644)


def _wait_for(predicate, within, what):
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _backend_size(path):
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def test_hard_mount_cp_survives_a_cut_longer_than_the_keepalive(
        lab, jumpfs_bin, mountpoint, daemon_log, scratch):
    src = Path(tempfile.mkdtemp(prefix="jfs-wb-src-")) / "big"
    src.parent.chmod(0o755)
    _source(src, 200, seed=1)
    target = BACKEND_HOME / scratch / "big"
    daemon = _mount(jumpfs_bin, mountpoint, daemon_log, "hard")
    cp = None
    try:
        cp = labmod.popen_as_user(["cp", str(src), f"{mountpoint}/{scratch}/big"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _wait_for(lambda: _backend_size(target) >= 16 * MIB, 60, "cp never got going")
        lab.link("jump1-jump2", "down")
        time.sleep(SAI * SACM + 2)  # the chain is found dead meanwhile
        assert cp.poll() is None, "cp ended while the chain was down"
        lab.link("jump1-jump2", "up")
        try:
            out, err = cp.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            _abort_fuse(mountpoint)
            raise AssertionError("cp hung after the chain came back:\n" + daemon_log.read_text())
        assert cp.returncode == 0, err + daemon_log.read_text()
        assert jfs.sha256_file(target) == jfs.sha256_file(src)
        assert "never reached the server" not in daemon_log.read_text()
    finally:
        if cp is not None and cp.poll() is None:
            _abort_fuse(mountpoint)
            cp.kill()
        _unmount(mountpoint, daemon)
        src.unlink()
        src.parent.rmdir()


# A writer that fsyncs every 32 MiB and says how far it got.
FSYNC_WRITER = """
import errno, os, sys, time
path, total = sys.argv[1], int(sys.argv[2])
block = bytes(range(256)) * 4096
done = synced = 0
t_fail = None
try:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    while done < total:
        done += os.write(fd, block)
        if done % (32 << 20) == 0:
            os.fsync(fd)
            synced = done
            print("synced", synced, flush=True)
    os.close(fd)
    print("complete", flush=True)
except OSError as e:
    print("error", errno.errorcode.get(e.errno, e.errno), synced, time.monotonic(),
          flush=True)
"""


def test_soft_mount_write_fails_after_the_cut_and_keeps_what_was_fsynced(
        lab, jumpfs_bin, mountpoint, daemon_log, scratch):
    target = BACKEND_HOME / scratch / "w"
    daemon = _mount(jumpfs_bin, mountpoint, daemon_log)
    writer = None
    try:
        writer = labmod.popen_as_user(
            ["/usr/bin/python3", "-c", FSYNC_WRITER, f"{mountpoint}/{scratch}/w",
             str(400 * MIB)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert _line(writer, 60).split()[0] == "synced"
        lab.link("jump1-jump2", "down")
        cut = time.monotonic()
        try:
            lines = []
            while not lines or lines[-1][0] not in ("error", "complete"):
                lines.append(_line(writer, 30).split())
        finally:
            lab.link("jump1-jump2", "up")
        writer.wait(timeout=30)
        last = lines[-1]
        assert last[0] == "error", lines
        assert last[1] in ("EIO", "ENOTCONN"), last
        synced = int(last[2])
        failed_after = float(last[3]) - cut
        print(f"soft: the write failed {failed_after:.1f} s after the cut")
        # Keepalive window + 1 s (the soft bound), and a margin for a busy machine.
        assert failed_after < SAI * SACM + 1 + 2.5
        data = target.read_bytes()[:synced]
        assert len(data) == synced >= 32 * MIB
        assert data == (bytes(range(256)) * 4096) * (synced // MIB)
        # The log names the file and the bytes that never reached the server.
        log = daemon_log.read_text()
        assert f"/{scratch}/w:" in log and "never reached the server" in log, log
    finally:
        if writer is not None and writer.poll() is None:
            _abort_fuse(mountpoint)
            writer.kill()
        _unmount(mountpoint, daemon)


def _sftp_servers():
    out = subprocess.run(["pgrep", "-u", labmod.BACKEND.user, "-x", "sftp-server"],
                         capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


# Opens, then (told to) writes 50 MiB, then (told to) closes: close waits
# for the server. Each step is reported on stdout.
QUEUED_WRITER = """
import hashlib, os, sys
path = sys.argv[1]
data = hashlib.sha256(b"queued").digest() * (50 << 15)
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
print("opened", flush=True)
sys.stdin.readline()
for at in range(0, len(data), 1 << 20):
    os.write(fd, data[at:at + (1 << 20)])
print("written", flush=True)
sys.stdin.readline()
os.close(fd)
print("closed", flush=True)
"""


def _line(proc, within):
    """The next line proc prints, or AssertionError after within seconds
    (a hung mount must not hang the suite)."""
    import select
    ready, _, _ = select.select([proc.stdout], [], [], within)
    assert ready, f"no answer within {within} s"
    return proc.stdout.readline().strip()


def test_backend_session_killed_with_50_mib_queued(lab, jumpfs_bin, mountpoint, daemon_log,
                                                   scratch):
    target = BACKEND_HOME / scratch / "q"
    before = _sftp_servers()
    daemon = _mount(jumpfs_bin, mountpoint, daemon_log)
    stopped = []
    writer = None
    try:
        writer = labmod.popen_as_user(["/usr/bin/python3", "-c", QUEUED_WRITER,
                                       f"{mountpoint}/{scratch}/q"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert _line(writer, 30) == "opened"
        # The mount's sftp-servers stop answering: nothing is confirmed.
        stopped = sorted(_sftp_servers() - before)
        assert stopped
        for pid in stopped:
            os.kill(pid, signal.SIGSTOP)
        writer.stdin.write("write\n")
        writer.stdin.flush()
        assert _line(writer, 30) == "written"
        assert _backend_size(target) < 50 * MIB  # queued, not confirmed
        lab.kill_sessions("backend")
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        writer.stdin.write("close\n")
        writer.stdin.flush()
        assert _line(writer, 60) == "closed"
        assert writer.wait(timeout=30) == 0
        want = hashlib.sha256(b"queued").digest() * (50 << 15)
        assert target.read_bytes() == want
        assert "never reached the server" not in daemon_log.read_text()
    finally:
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if writer is not None and writer.poll() is None:
            _abort_fuse(mountpoint)
            writer.kill()
        _unmount(mountpoint, daemon)


def test_hard_mount_wait_can_be_interrupted(lab, jumpfs_bin, mountpoint, daemon_log):
    daemon = _mount(jumpfs_bin, mountpoint, daemon_log, "hard")
    try:
        jfs.sh(f"ls {mountpoint} >/dev/null")
        lab.link("jump1-jump2", "down")
        try:
            waiter = labmod.popen_as_user(["stat", f"{mountpoint}/not-cached-hard"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(SAI * SACM + 2)
            assert waiter.poll() is None, "a hard mount did not wait"
            # To stat itself. SIGTERM rather than SIGINT: a suite started
            # in the background has SIGINT ignored, and so would stat.
            for pid in _children(waiter.pid):
                os.kill(pid, signal.SIGTERM)
            try:
                waiter.wait(timeout=5)
            except subprocess.TimeoutExpired:
                _abort_fuse(mountpoint)
                raise AssertionError("the waiting stat did not end on SIGTERM")
            assert waiter.returncode != 0
        finally:
            lab.link("jump1-jump2", "up")
        # And the mount carries on.
        deadline = time.monotonic() + 30
        while labmod.as_user(["cat", f"{mountpoint}/hello.txt"], timeout=60).returncode != 0:
            assert time.monotonic() < deadline
            time.sleep(0.5)
    finally:
        _unmount(mountpoint, daemon)


def _children(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry))
    return kids


def test_hard_with_noreconnect_is_refused(lab, jumpfs_bin, mountpoint):
    proc = jfs.mount(jumpfs_bin, mountpoint, labmod.SERVER3, "-o", "hard,noreconnect")
    assert proc.returncode != 0
    assert "hard" in proc.stderr and "noreconnect" in proc.stderr, proc.stderr
    assert not labmod.is_mounted(mountpoint)


@pytest.mark.parametrize("hard", [False, True], ids=["soft", "hard"])
def test_login_refused_on_reconnect_is_eacces_and_not_retried(
        lab, jumpfs_bin, mountpoint, daemon_log, hard):
    daemon = _mount(jumpfs_bin, mountpoint, daemon_log, *(["hard"] if hard else []))
    try:
        jfs.sh(f"ls {mountpoint} >/dev/null")
        # The session goes, and the backend stops taking our key (in this
        # order: kill-sessions finds sessions of the running listener only).
        lab.kill_sessions("backend")
        lab.run("password", "backend", "on")
        failed_before = _auth_failures()
        results = []
        for i in range(4):
            proc = labmod.as_user(["stat", f"{mountpoint}/not-cached-{i}"], timeout=30)
            results.append(proc.stderr)
            time.sleep(0.5)
        assert all("Permission denied" in r for r in results), results
        log = daemon_log.read_text()
        assert "hop 3/3" in log and "not trying again" in log, log
        # One attempt, whatever the operations asked for.
        assert _auth_failures() - failed_before <= 1
    finally:
        _unmount(mountpoint, daemon)


def _auth_failures():
    """Connections made to the backend's sshd (its log only grows)."""
    text = (labmod.STATE_DIR / "backend" / "sshd.log").read_text(errors="replace")
    return text.count("Connection from ")


# Opens, then (told to) writes 30 MiB and keeps the file open until killed.
OPEN_WRITER = """
import hashlib, os, sys, time
data = hashlib.sha256(b"drain").digest() * (30 << 15)
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
print("opened", flush=True)
sys.stdin.readline()
for at in range(0, len(data), 1 << 20):
    os.write(fd, data[at:at + (1 << 20)])
print("written", flush=True)
time.sleep(120)
"""


def test_sigterm_drains_the_queue(lab, jumpfs_bin, mountpoint, daemon_log, scratch):
    """SIGTERM with data queued and the file still open: the daemon sends
    it all before it exits (within the documented 10 s)."""
    target = BACKEND_HOME / scratch / "d"
    before = _sftp_servers()
    daemon = _mount(jumpfs_bin, mountpoint, daemon_log)
    writer = None
    stopped = []
    try:
        writer = labmod.popen_as_user(["/usr/bin/python3", "-c", OPEN_WRITER,
                                       f"{mountpoint}/{scratch}/d"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert _line(writer, 30) == "opened"
        # Hold the server back a moment so that the queue is full when the
        # signal comes.
        stopped = sorted(_sftp_servers() - before)
        for pid in stopped:
            os.kill(pid, signal.SIGSTOP)
        writer.stdin.write("go\n")
        writer.stdin.flush()
        assert _line(writer, 30) == "written"
        assert _backend_size(target) < 30 * MIB
        (pid,) = [p for p in jfs.jumpfs_pids(mountpoint)]
        os.kill(pid, signal.SIGTERM)
        for p in stopped:
            os.kill(p, signal.SIGCONT)
        stopped = []
        assert labmod._wait_pid_gone(pid, 20), "the daemon did not exit after SIGTERM"
        want = hashlib.sha256(b"drain").digest() * (30 << 15)
        assert target.read_bytes() == want
        assert "never reached the server" not in daemon_log.read_text()
    finally:
        for p in stopped:
            os.kill(p, signal.SIGCONT)
        if writer is not None and writer.poll() is None:
            writer.kill()
        _unmount(mountpoint, daemon)
