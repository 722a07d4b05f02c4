"""No hop waits for another (issue 13's chain side): a channel open that
hangs at a shared jump host stops no other stream through it, a login
waiting at a prompt holds up no other chain, and `jumpfs status`'s figures
come from the pumps' own counters.

The cache tests drive chain/cache.c from several threads of one process
(build/tests/chain-probe, as the shared daemon's mounts would) so that they
do not depend on how the daemon schedules its mounts."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

import jfs
import lab as labmod

J1 = f"{labmod.JUMP1.user}@{labmod.JUMP1.fqdn}:{labmod.JUMP1.port}"
J1_LABEL = f"hop 1/2 ({J1})"
# A free address on jump1's link to jump2: `lab blackhole` makes it a
# destination whose TCP connects are never answered.
BLACK_HOLE = "10.77.2.99"
PASSWORD = "jfs-lab-password"  # what `scripts/lab password HOST on` sets
PROMPT_WAIT_S = 8  # how long the slow SSH_ASKPASS sits on its prompt


@pytest.fixture
def probe_bin(jumpfs_bin):
    path = Path(jumpfs_bin).resolve().parents[1] / "tests" / "chain-probe"
    if not path.exists():
        pytest.skip(f"{path} is not built")
    return path


@pytest.fixture
def user_dir():
    """A directory of the lab user's (askpass, configs)."""
    import pwd
    pw = pwd.getpwnam(labmod.JFS_USER)
    path = Path(tempfile.mkdtemp(prefix="jfs-pump-"))
    os.chown(path, pw.pw_uid, pw.pw_gid)
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def run_probe(probe_bin, *args, env=None, timeout=90):
    """chain-probe ARGS as the lab user without a terminal; its JSON lines."""
    full_env = dict(os.environ)
    for name in ("SSH_AUTH_SOCK", "SSH_ASKPASS", "SSH_ASKPASS_REQUIRE"):
        full_env.pop(name, None)
    full_env.update(env or {})
    proc = labmod.as_user(["setsid", "-w", str(probe_bin), *map(str, args)],
                          timeout=timeout, env=full_env)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return proc, lines


def results(lines):
    return {line["dest"]: line for line in lines if "ok" in line}


# ---- a hanging open at jump1 ------------------------------------------------

def timed_reader(path, stop, gaps):
    """Reads path (as the lab user) 1 MiB at a time until stop is set,
    recording how long each read took: a stalled hop shows as a slow read."""
    code = f"""
import os, sys, time
fd = os.open({str(path)!r}, os.O_RDONLY)
while True:
    t = time.monotonic()
    data = os.read(fd, 1 << 20)
    print(f"{{time.monotonic() - t:.4f}}", flush=True)
    if not data:
        os.lseek(fd, 0, 0)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    time.sleep(0.02)
"""
    proc = labmod.popen_as_user(["/usr/bin/python3", "-c", code], stdout=subprocess.PIPE)
    for line in proc.stdout:
        gaps.append(float(line))
        if stop.is_set():
            break
    proc.kill()
    proc.wait()


def test_hanging_open_at_jump1_stops_no_stream(lab, jumpfs_bin, mountpoint):
    big = labmod.BACKEND_HOME / "jfs-pump-stream.bin"
    big.write_bytes(os.urandom(32 << 20))
    other = Path(tempfile.mkdtemp(prefix="jumpfs-mnt-b-"))
    shutil.chown(other, labmod.JFS_USER)
    try:
        jfs.mount_ok(jumpfs_bin, mountpoint)
        stop, gaps = threading.Event(), []
        reader = threading.Thread(target=timed_reader,
                                  args=(mountpoint / big.name, stop, gaps))
        reader.start()
        time.sleep(1.0)
        lab.run("blackhole", "jump1", BLACK_HOLE, "on")
        logins = lab.logins("jump1")
        before = len(gaps)
        started = time.monotonic()
        # Through the shared daemon, so jump1's session is mount A's.
        proc = jfs.mount(jumpfs_bin, other, f"{labmod.BACKEND.user}@{BLACK_HOLE}:",
                         "-J", J1, "-o", "ConnectTimeout=4")
        took = time.monotonic() - started
        time.sleep(0.5)
        stop.set()
        reader.join(timeout=30)
        during = gaps[before:]

        assert proc.returncode != 0
        message = proc.stderr.strip()
        assert J1_LABEL in message, message  # jump1 reported it, as hop 1 of 2
        assert f"{BLACK_HOLE}:22" in message and "timed out" in message, message
        assert 3.5 <= took < 15, took
        assert lab.logins("jump1") == logins  # B went through A's jump1 session
        assert len(during) >= 10, during
        assert max(during) < 1.0, f"the stream stalled for {max(during):.2f} s"
        # The half-open channel did not cost the session: A goes on.
        assert (jfs.sh(f"sha256sum {mountpoint / big.name}").split()[0]
                == jfs.sha256_file(big))
    finally:
        labmod.cleanup_mount(other)
        other.rmdir()
        big.unlink()


# ---- a login at a prompt holds up no other chain ------------------------------

def test_prompt_holds_up_only_its_own_prefix(lab, probe_bin, user_dir):
    lab.run("password", "jump2", "on")
    log = user_dir / "askpass.log"
    askpass = user_dir / "askpass"
    askpass.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$1\" >> {log}\n"
                       f"sleep {PROMPT_WAIT_S}\nprintf '%s\\n' '{PASSWORD}'\n")
    askpass.chmod(0o755)
    jump1_before = lab.logins("jump1")
    jump1 = f"{labmod.JUMP1.user}@{labmod.JUMP1.fqdn}"
    proc, lines = run_probe(
        probe_bin,
        "server3",                                   # waits at jump2's prompt
        "server3,+1000",                             # the same chain: waits for that login
        f"{jump1},+1000",                            # jump1 alone: shares its session
        f"{jump1},ServerAliveInterval=7,+1000",      # another prefix: its own login
        env={"SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force"})
    got = results(lines)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert all(line["ok"] for line in got.values()), lines
    done = {spec: line["start"] + line["secs"] for spec, line in got.items()}
    # Both server3 requests finished with the one login behind the prompt.
    assert done["server3"] >= PROMPT_WAIT_S, got
    assert PROMPT_WAIT_S <= done["server3,+1000"] < PROMPT_WAIT_S + 5, got
    assert log.read_text().count("\n") == 1, log.read_text()  # asked once
    # jump1's session (the prefix server3 shares) and another prefix of
    # jump1 with a login of its own both went on during the prompt.
    for spec in (f"{jump1},+1000", f"{jump1},ServerAliveInterval=7,+1000"):
        assert got[spec]["secs"] < 3, got[spec]
        assert done[spec] < PROMPT_WAIT_S - 2, got[spec]
    # jump1: one login for server3's prefix (shared by the plain J1 probe),
    # one for the prefix with other keepalives.
    assert lab.logins("jump1") == jump1_before + 2


# ---- what `jumpfs status` is built from ----------------------------------------

def test_stats_show_each_hop_up_with_its_counters(lab, probe_bin, user_dir):
    config = user_dir / "config"
    config.write_text(Path(f"/home/{labmod.JFS_USER}/.ssh/config").read_text()
                      + "Host *\n  ServerAliveInterval 1\n")
    config.chmod(0o644)
    proc, lines = run_probe(probe_bin, "-F", config, "--stats", "--hold", "2500", "server3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    stats = [line for line in lines if "hops" in line][0]["hops"]
    assert [hop["address"] for hop in stats] == [
        J1, f"{labmod.JUMP2.user}@{labmod.JUMP2.fqdn}:{labmod.JUMP2.port}",
        f"{labmod.BACKEND.user}@{labmod.BACKEND.addr}:{labmod.BACKEND.port}"]
    for hop in stats:
        assert hop["state"] == "up", hop
        assert hop["logins"] == 1, hop
        assert hop["auth"].startswith("publickey"), hop
        # Counted from the hand-over to the pump (after the login).
        assert hop["bytes_in"] > 100 and hop["bytes_out"] > 100, hop
        assert hop["channels"] == 1, hop  # a forward, a forward, the sftp channel
        assert hop["opens_pending"] == 0, hop
        # Idle for 2.5 s with 1 s keepalives: each hop answered one.
        assert 0 < hop["rtt_us"] < 500_000, hop
    assert [line for line in lines if "logins" in line] == [{"logins": 3}]


# ---- sessions killed under load: no spin, SIGTERM still works ----------------

def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_sessions_killed_under_load_leave_no_spin(lab, jumpfs_bin, mountpoint):
    # The scene of the shared notes' TSan run: two SFTP channels, short
    # keepalives, four writers, the backend's and jump2's sessions killed
    # one after the other. Afterwards the daemon must be idle (a pump that
    # leaves its session's input unread spins at 100% CPU) and SIGTERM must
    # unmount it.
    jfs.mount_ok(jumpfs_bin, mountpoint, labmod.SERVER3, "-o",
                 "max_conns=2,ServerAliveInterval=2,ServerAliveCountMax=2,no_share")
    (pid,) = jfs.jumpfs_pids(mountpoint)
    names = [f"jfs-pump-w{i}" for i in range(4)]
    try:
        writers = [labmod.popen_as_user(
            ["sh", "-c", f"dd if=/dev/zero of={mountpoint}/{name} bs=1M count=24 "
                         "conv=fsync status=none; echo done"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) for name in names]
        time.sleep(0.5)
        lab.kill_sessions("backend")
        time.sleep(1.5)
        lab.kill_sessions("jump2")
        for w in writers:
            w.communicate(timeout=120)  # each returns, written or failed
        deadline = time.monotonic() + 30
        while labmod.as_user(["ls", str(mountpoint)]).returncode != 0:
            assert time.monotonic() < deadline, "the mount did not recover"
            time.sleep(0.5)
        time.sleep(1.0)
        before = cpu_seconds(pid)
        time.sleep(2.0)
        used = cpu_seconds(pid) - before
        assert used < 0.3, f"the idle daemon used {used:.2f} s of CPU in 2 s"
        os.kill(pid, signal.SIGTERM)
        assert labmod._wait_pid_gone(pid, 10), "SIGTERM did not end the daemon"
        assert not labmod.is_mounted(mountpoint)
    finally:
        for name in names:
            (labmod.BACKEND_HOME / name).unlink(missing_ok=True)
