"""The first hop's TCP connection and the per-session limits, through the
lab as jfsuser: BindAddress, BindInterface, ConnectionAttempts,
TCPKeepAlive, AddressFamily, RekeyLimit.  The oracles are the sshds' logs
and the kernel's view of the daemon's socket (ss)."""

import os
import pwd
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

import jfs
import lab as labmod

PORT_RE = r"Connection from (\S+) port (\d+) on "


@pytest.fixture
def workdir():
    pw = pwd.getpwnam(labmod.JFS_USER)
    path = Path(tempfile.mkdtemp(prefix="jumpfs-tcp-", dir="/tmp"))
    os.chown(path, pw.pw_uid, pw.pw_gid)
    path.chmod(0o755)
    yield path
    for f in path.iterdir():
        f.unlink()
    path.rmdir()


def config(workdir, all_hops):
    """server3's chain with all_hops' lines for every hop (Host *)."""
    path = workdir / "config"
    path.write_text(f"Host server3\n"
                    f"  HostName {labmod.BACKEND.addr}\n"
                    f"  User {labmod.BACKEND.user}\n"
                    f"  ProxyJump {labmod.PROXYJUMP_2HOPS}\n"
                    f"Host *\n{all_hops}")
    pw = pwd.getpwnam(labmod.JFS_USER)
    os.chown(path, pw.pw_uid, pw.pw_gid)
    path.chmod(0o644)
    return path


class Log:
    def __init__(self, lab, host):
        self.path = lab.log_path(host)
        self.offset = self.path.stat().st_size

    def new(self):
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            return f.read().decode(errors="replace")


def sources_seen_by_jump1(log):
    return [addr for addr, _ in re.findall(PORT_RE, log.new())]


@pytest.mark.parametrize("line", [f"BindAddress {labmod.SOURCE_ADDR}",
                                  f"BindInterface {labmod.SOURCE_IF}"])
def test_source_address(lab, jumpfs_bin, mountpoint, workdir, line):
    # 10.77.1.11 is the only address of jfs-src0; anything else comes
    # from 10.77.1.1.
    log = Log(lab, "jump1")
    jfs.mount_ok(jumpfs_bin, mountpoint, "server3", "-F", config(workdir, f"  {line}\n"))
    assert "hello.txt" in jfs.sh(f"ls {mountpoint}")
    assert sources_seen_by_jump1(log) == [labmod.SOURCE_ADDR]
    jfs.unmount(mountpoint)


def test_bind_address_that_is_not_ours(lab, jumpfs_bin, mountpoint, workdir):
    proc = jfs.mount(jumpfs_bin, mountpoint, "server3", "-F",
                     config(workdir, "  BindAddress 10.77.9.9\n"))
    assert proc.returncode != 0 and not labmod.is_mounted(mountpoint)
    assert proc.stderr.strip() == (
        "jumpfs: hop 1/3 (user1@jumphost1.whatever.org:22): BindAddress 10.77.9.9: "
        "cannot bind to 10.77.9.9: Cannot assign requested address")


def daemon_socket_line(daemon):
    """ss's line (with timers) for the daemon's TCP connection to jump1."""
    out = subprocess.run(["ss", "-tnoep", "dst", f"{labmod.JUMP1.addr}:{labmod.JUMP1.port}"],
                         capture_output=True, text=True).stdout
    lines = [l for l in out.splitlines() if f"pid={daemon}," in l]
    assert len(lines) == 1, out
    return lines[0]


@pytest.mark.parametrize("keepalive", ["yes", "no"])
def test_tcp_keepalive(lab, jumpfs_bin, mountpoint, workdir, keepalive):
    jfs.mount_ok(jumpfs_bin, mountpoint, "server3", "-F",
                 config(workdir, f"  TCPKeepAlive {keepalive}\n"), "-o", "no_share")
    (daemon,) = jfs.jumpfs_pids(mountpoint)
    # The kernel shows the keepalive timer while nothing is in flight
    # (a retransmit timer takes its place meanwhile).
    deadline = time.monotonic() + 5
    while "timer:(on," in (line := daemon_socket_line(daemon)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ("timer:(keepalive," in line) == (keepalive == "yes"), line
    jfs.unmount(mountpoint)


def test_connection_attempts_wait_for_a_restarting_sshd(lab, jumpfs_bin, mountpoint, workdir):
    lab.sshd("jump1", "stop")
    assert labmod.connect_errno(labmod.JUMP1.addr, labmod.JUMP1.port) != 0
    # The listener comes back while jumpfs pauses between attempts.
    starter = threading.Timer(0.5, lab.sshd, ("jump1", "start"))
    starter.start()
    try:
        jfs.mount_ok(jumpfs_bin, mountpoint, "server3", "-F",
                     config(workdir, "  ConnectionAttempts 6\n"))
    finally:
        starter.join()
    assert "hello.txt" in jfs.sh(f"ls {mountpoint}")
    jfs.unmount(mountpoint)


def test_address_family_inet6_finds_no_address(lab, jumpfs_bin, mountpoint, workdir):
    # jumphost1 has only an IPv4 line in /etc/hosts: the IPv6 lookup would
    # go on to DNS, so it runs in a network namespace of its own, empty.
    conf = config(workdir, "  AddressFamily inet6\n")
    proc = subprocess.run(["unshare", "--net", "runuser", "-u", labmod.JFS_USER, "--",
                           str(jumpfs_bin), "server3", str(mountpoint), "-F", str(conf)],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode != 0 and not labmod.is_mounted(mountpoint)
    assert ("jumpfs: hop 1/3 (user1@jumphost1.whatever.org:22): cannot resolve "
            "jumphost1.whatever.org for AddressFamily inet6: ") in proc.stderr, proc.stderr


def test_rekey_limit(lab, jumpfs_bin, mountpoint, workdir):
    # The backend's sshd at DEBUG1 logs each key exchange.
    lab.loglevel("backend", "debug")
    big = labmod.BACKEND_HOME / "jfs-rekey.bin"
    big.write_bytes(os.urandom(4 << 20))
    try:
        for limit, rekeyed in (("", False), ("  RekeyLimit 1M\n", True)):
            log = Log(lab, "backend")
            jfs.mount_ok(jumpfs_bin, mountpoint, "server3", "-F", config(workdir, limit))
            jfs.sh(f"cat {mountpoint}/{big.name} >/dev/null")
            jfs.unmount(mountpoint)
            kex = len(re.findall(r"kex: algorithm: ", log.new()))
            assert (kex > 1) == rekeyed, f"{limit!r}: {kex} key exchanges"
    finally:
        big.unlink()
