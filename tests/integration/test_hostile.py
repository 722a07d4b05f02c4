"""A hostile target: the project's own lying SFTP server
(tests/hostile-sftp/hostile-sftp), run by the lab's backend sshd for the
user jfshostile, mounted through the real chain. Nothing it sends leads a
local program out of the mount, each bad reply gets a clear error (on the
call and in the log), the mount survives, and the daemon stays within its
memory ceiling (docs/security.md)."""

import contextlib
import errno
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

import jfs
import lab as labmod
from semantics import detach_copies, new_mountpoint, run_py

HERE = Path(__file__).resolve().parent
HOSTILE_DIR = labmod.STATE_DIR / "hostile"
SOURCE = f"jfshostile@{labmod.SERVER3}:"
# The ceiling for a mount's daemon with no file open (docs/security.md).
CEILING_MIB = 64


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextlib.contextmanager
def hostile_mount(jumpfs_bin, flags=""):
    """Mounts the hostile server (this tree's copy) in the foreground;
    yields (mount point, daemon Popen, log path)."""
    HOSTILE_DIR.mkdir(mode=0o755, exist_ok=True)
    tmp = HOSTILE_DIR / "hostile-sftp.new"
    shutil.copyfile(HERE.parent / "hostile-sftp" / "hostile-sftp", tmp)
    tmp.chmod(0o755)
    tmp.rename(HOSTILE_DIR / "hostile-sftp")
    (HOSTILE_DIR / "flags").write_text(flags + "\n")
    mnt = new_mountpoint()
    log = tempfile.NamedTemporaryFile(prefix="jumpfs-hostile-", suffix=".log", delete=False)
    daemon = labmod.popen_as_user(
        [str(jumpfs_bin), SOURCE, str(mnt), "-f", "-o",
         "no_share,ServerAliveInterval=2,ServerAliveCountMax=3"],
        stdout=subprocess.DEVNULL, stderr=log)
    try:
        labmod.wait_for_mount(mnt, timeout=30, proc=daemon)
        yield mnt, daemon, Path(log.name)
    finally:
        labmod.cleanup_mount(mnt, procs=[daemon])
        detach_copies(mnt)
        with contextlib.suppress(OSError):
            mnt.rmdir()
        (HOSTILE_DIR / "flags").write_text("\n")
        os.unlink(log.name)


@pytest.fixture(scope="module")
def hostile(request, jumpfs_bin):
    request.getfixturevalue("lab")
    with hostile_mount(jumpfs_bin) as m:
        yield m


def test_the_control_file_reads(hostile):
    mnt, _, _ = hostile
    assert jfs.sh(f"cat {mnt}/hello") == "hello from the hostile server\n"


def test_symlinks_never_lead_out_of_the_mount(hostile):
    mnt, _, log = hostile
    out = run_py("""
        d = f"{M}/links"
        r = {}
        for name in ("passwd", "up", "inside", "rel", "loop"):
            r[name] = err(os.readlink, f"{d}/{name}") or os.readlink(f"{d}/{name}")
        # Following them: the local /etc/passwd must never come out.
        r["open_passwd"] = err(get, f"{d}/passwd")
        r["open_inside"] = get(f"{d}/inside").decode()
        r["up_listing"] = err(os.listdir, f"{d}/up")
        print(json.dumps(r))
    """, M=str(mnt))
    assert out == {"passwd": "EPERM", "up": "EPERM", "inside": "../hello", "rel": "../hello",
                   "loop": "EPERM", "open_passwd": "EPERM",
                   "open_inside": "hello from the hostile server\n", "up_listing": "EPERM"}
    assert "leaves the mount, so it reads as EPERM" in log.read_text()


def test_bad_names_are_skipped_with_a_warning(hostile):
    mnt, _, log = hostile
    out = run_py("""
        d = f"{M}/badnames"
        names = sorted(os.listdir(d))
        raw = sorted(e.name for e in os.scandir(d))
        print(json.dumps([names, raw]))
    """, M=str(mnt))
    # '/', NUL and empty names never reach the kernel, nor '.'/'..' twice.
    assert out == [["good"], ["good"]]
    text = log.read_text()
    assert "skipped 4 directory entries whose names no file can have" in text, text


def test_a_listing_of_only_bad_names_ends_with_an_error(hostile):
    mnt, _, log = hostile
    start = time.monotonic()
    out = run_py("""print(json.dumps(err(os.listdir, f"{M}/allbad")))""", M=str(mnt))
    assert out == "EPROTO"
    assert time.monotonic() - start < 30
    assert "and nothing else: giving up the listing" in log.read_text()


def test_garbled_replies_fail_the_call_not_the_mount(hostile):
    mnt, _, log = hostile
    out = run_py("""
        r = {n: err(os.stat, f"{M}/{n}") for n in ("garbled", "wrongtype", "stray")}
        r["bigdata"] = err(get, f"{M}/bigdata")
        r["hello"] = get(f"{M}/hello").decode()
        print(json.dumps(r))
    """, M=str(mnt))
    assert out == {"garbled": "EPROTO", "wrongtype": "EPROTO", "stray": 0,
                   "bigdata": "EPROTO", "hello": "hello from the hostile server\n"}


def test_an_oversized_reply_breaks_only_that_connection(hostile):
    mnt, daemon, log = hostile
    out = run_py("""print(json.dumps(err(os.stat, f"{M}/oversized")))""", M=str(mnt))
    assert out in ("ENOTCONN", "EIO"), out
    assert "closing the connection" in log.read_text()
    # The next operation reconnects.
    deadline = time.monotonic() + 20
    while True:
        proc = labmod.as_user(["cat", f"{mnt}/hello"])
        if proc.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert proc.stdout == "hello from the hostile server\n", proc.stderr
    assert daemon.poll() is None


def test_endless_listing_ends_within_the_memory_ceiling(hostile, pytestconfig):
    mnt, daemon, log = hostile
    peak = [0.0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mib(daemon.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        out = run_py("""
            n = 0
            try:
                with os.scandir(f"{M}/endless") as it:
                    for _ in it:
                        n += 1
                print(json.dumps([n, 0]))
            except OSError as e:
                print(json.dumps([n, errno.errorcode[e.errno]]))
        """, M=str(mnt), timeout=600)
    finally:
        done.set()
        sampler.join()
    count, error = out
    assert error == "EIO"
    assert 3_900_000 <= count <= 4_000_000, count
    assert "does not stop: giving up the listing" in log.read_text()
    if not pytestconfig.getoption("--sanitized"):
        assert peak[0] < CEILING_MIB, f"daemon RSS peaked at {peak[0]:.1f} MiB"
    assert jfs.sh(f"cat {mnt}/hello") == "hello from the hostile server\n"


def test_a_megabyte_a_second_on_stderr(request, jumpfs_bin, pytestconfig):
    """The server writes 1 MiB/s to its stderr for as long as it runs. The
    mount keeps working and the daemon does not grow. (OpenSSH's sshd reads
    and drops a subsystem's stderr itself, so this flood stops at the
    backend's sshd: the backend log shows a few KiB sent. The client's own
    drain of extended data, chain/pump-link.c, needs an SSH server that
    sends it.)"""
    request.getfixturevalue("lab")
    with hostile_mount(jumpfs_bin, flags="stderr-flood") as (mnt, daemon, log):
        samples = []
        start = time.monotonic()
        while time.monotonic() - start < 10:
            proc = labmod.as_user(["cat", f"{mnt}/hello"], timeout=10)
            assert proc.stdout == "hello from the hostile server\n", proc.stderr
            samples.append((time.monotonic() - start, rss_mib(daemon.pid)))
            time.sleep(0.5)
        if not pytestconfig.getoption("--sanitized"):
            peak = max(rss for _, rss in samples)
            assert peak < CEILING_MIB, f"daemon RSS peaked at {peak:.1f} MiB"
            # Drained and dropped, not kept: 8 s of it (8 MiB) must not
            # show in the daemon's memory.
            early = next(rss for t, rss in samples if t >= 2)
            assert samples[-1][1] - early < 4, samples
