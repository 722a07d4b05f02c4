"""ProxyCommand at a hop, as OpenSSH runs it, through the lab as jfsuser.

jump2 (10.77.2.2) and the backend are not routable from the host (the lab's
`unreachable` route): a hop there that comes up at all was carried by the
command.  Every config is written for the test and passed with -F."""

import os
import pwd
import signal
import time
from pathlib import Path

import pytest

import jfs
import lab as labmod

J1 = f"{labmod.JUMP1.user}@{labmod.JUMP1.fqdn}"
SSH = "ssh -o BatchMode=yes -o ConnectTimeout=5"


def _own(path, mode):
    pw = pwd.getpwnam(labmod.JFS_USER)
    os.chown(path, pw.pw_uid, pw.pw_gid)
    path.chmod(mode)
    return path


@pytest.fixture
def probe(jumpfs_bin):
    path = Path(jumpfs_bin).parent.parent / "tests" / "proxy-probe"
    if not os.access(path, os.X_OK):
        pytest.skip(f"{path} not built")
    return path


def write_config(workdir, text, name="config"):
    path = workdir / name
    path.write_text(text)
    return _own(path, 0o644)


def server3_via(jump2_proxy_command):
    """server3's chain with hop 1 (jump2) reached by a ProxyCommand and the
    backend through it by ProxyJump (jumpfs's own forwarding)."""
    return (f"Host pc-jump2\n"
            f"  HostName {labmod.JUMP2.fqdn}\n"
            f"  Port {labmod.JUMP2.port}\n"
            f"  User {labmod.JUMP2.user}\n"
            f"  ProxyCommand {jump2_proxy_command}\n"
            f"Host pc-server3\n"
            f"  HostName {labmod.BACKEND.addr}\n"
            f"  User {labmod.BACKEND.user}\n"
            f"  ProxyJump pc-jump2\n")


def daemon_children(mountpoint):
    (pid,) = jfs.jumpfs_pids(mountpoint)
    return pid, jfs.children_of(pid)


def the_command(mountpoint, name="ssh"):
    pid, children = daemon_children(mountpoint)
    pids = [int(p) for p, comm in children if comm.strip() == name]
    assert len(pids) == 1, f"children of the daemon {pid}: {children}"
    return pids[0]


def fd_targets(pid):
    targets = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            targets[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            pass
    return targets


def test_ssh_W_at_hop_1_carries_the_chain(lab, jumpfs_bin, mountpoint, workdir):
    assert labmod.host_route(labmod.JUMP2.addr) == "blocked"
    conf = write_config(workdir, server3_via(f"{SSH} -W %h:%p {J1}"))
    before = lab.all_logins()
    jfs.mount_ok(jumpfs_bin, mountpoint, "pc-server3", "-F", conf)
    assert "hello.txt" in jfs.sh(f"ls {mountpoint}")
    after = lab.all_logins()
    # jump1: the command's own ssh; jump2 and the backend: jumpfs.
    assert {h: after[h] - before[h] for h in after} == {"jump1": 1, "jump2": 1, "backend": 1}
    # The user's command is the one process jumpfs started; ProxyJump
    # (hop 2) spawned nothing.
    the_command(mountpoint, "ssh")
    _, children = daemon_children(mountpoint)
    assert len(children) == 1, children
    jfs.unmount(mountpoint)


def test_ssh_J_chain_as_the_targets_command(lab, jumpfs_bin, mountpoint, workdir):
    # The whole OpenSSH chain inside the command; jumpfs's chain is the
    # backend alone, and jumpfs still checks the backend's host key.
    conf = write_config(workdir,
        f"Host pc-backend\n"
        f"  HostName {labmod.BACKEND.addr}\n"
        f"  User {labmod.BACKEND.user}\n"
        f"  ProxyCommand {SSH} -J {J1} -W %h:%p -p {labmod.JUMP2.port} "
        f"{labmod.JUMP2.user}@{labmod.JUMP2.fqdn}\n")
    jfs.mount_ok(jumpfs_bin, mountpoint, "pc-backend", "-F", conf)
    assert jfs.sh(f"cat {mountpoint}/hello.txt") == labmod.BACKEND_HELLO.read_text()
    jfs.unmount(mountpoint)

    lab.hostkey("backend", "rotate")
    proc = jfs.mount(jumpfs_bin, mountpoint, "pc-backend", "-F", conf)
    assert proc.returncode != 0 and not labmod.is_mounted(mountpoint)
    assert "hop 1/1" in proc.stderr and "HOST KEY CHANGED" in proc.stderr, proc.stderr


def test_seed_nc_form(lab, jumpfs_bin, mountpoint, workdir):
    # The seed's `ProxyCommand ssh user@jumphost nc %h %p` (netcat-openbsd
    # on jump1: the lab's hosts share this machine's files).
    conf = write_config(workdir, server3_via(f"{SSH} {J1} nc %h %p"))
    jfs.mount_ok(jumpfs_bin, mountpoint, "pc-server3", "-F", conf)
    assert "hello.txt" in jfs.sh(f"ls {mountpoint}")
    jfs.unmount(mountpoint)


def test_command_gets_no_fd_signal_mask_or_cwd_of_the_daemon(lab, jumpfs_bin, mountpoint,
                                                             workdir, probe):
    report = workdir / "report"
    conf = write_config(workdir, server3_via(f"{probe} report {report} {SSH} -W %h:%p {J1}"))
    proc = labmod.as_user([jumpfs_bin, "pc-server3", mountpoint, "-F", conf],
                          cwd=workdir, env=jfs._env({"PROXY_PROBE_ENV": "the requester's"}))
    assert proc.returncode == 0, proc.stderr
    labmod.wait_for_mount(mountpoint)
    # What the command started with (reported, then it became ssh).
    assert report.read_text() == ("fds 0:sock 1:sock 2:fifo\n"
                                  "sigblk 0000000000000000\nsigign 0000000000000000\n"
                                  f"cwd {workdir}\nenv the requester's\n")
    # And the live command now: nothing of the daemon's but the pipe for
    # its stderr (one pipe, two ends) and /dev/null.
    daemon, _ = daemon_children(mountpoint)
    command = the_command(mountpoint, "ssh")
    theirs = fd_targets(command)
    ours = fd_targets(daemon)
    assert "/dev/fuse" in ours.values()
    assert "/dev/fuse" not in theirs.values(), theirs
    shared = {t for t in set(theirs.values()) & set(ours.values())
              if not t.startswith("pipe:") and t != "/dev/null"}
    assert shared == set(), f"daemon fds in the command: {shared}"
    jfs.unmount(mountpoint)


def test_command_exits_fails_clearly_then_recovers(lab, jumpfs_bin, mountpoint, workdir):
    flag = workdir / "off"
    script = workdir / "proxy.sh"
    script.write_text("#!/bin/sh\n"
                      f"if [ -e {flag} ]; then\n"
                      "  echo 'proxy: switched off by the test' >&2; exit 3\n"
                      "fi\n"
                      f"exec {SSH} -W \"$1:$2\" {J1}\n")
    _own(script, 0o755)
    conf = write_config(workdir, server3_via(f"{script} %h %p"))
    args = ("pc-server3", "-F", conf, "-o", "ServerAliveInterval=1,ServerAliveCountMax=3")

    flag.touch()
    proc = jfs.mount(jumpfs_bin, mountpoint, *args)
    assert proc.returncode != 0 and not labmod.is_mounted(mountpoint)
    message = proc.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert message.startswith("jumpfs: hop 1/2 (user2@jumphost2.whatever.org:2222): "), message
    assert "the ProxyCommand" in message and "exited with status 3" in message, message
    assert "proxy: switched off by the test" in message, message

    flag.unlink()
    jfs.mount_ok(jumpfs_bin, mountpoint, *args)
    assert "hello.txt" in jfs.sh(f"ls {mountpoint}")
    first = the_command(mountpoint, "ssh")

    # The command dies: the hop dies with it (and the backend behind it);
    # while the command cannot run, operations fail instead of hanging.
    flag.touch()
    os.kill(first, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if labmod.as_user(["ls", mountpoint], timeout=30).returncode != 0:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the mount kept working without its ProxyCommand")

    # It works again: the next operation runs the command again.
    flag.unlink()
    deadline = time.monotonic() + 20
    while labmod.as_user(["cat", f"{mountpoint}/hello.txt"], timeout=30).returncode != 0:
        assert time.monotonic() < deadline, "the mount did not recover"
        time.sleep(0.3)
    second = the_command(mountpoint, "ssh")
    assert second != first
    jfs.unmount(mountpoint)


def test_unmount_ends_the_command_and_leaks_no_fd(lab, jumpfs_bin, mountpoint, workdir):
    # A first mount keeps the shared daemon alive; the ProxyCommand mount
    # comes and goes in it.
    jfs.mount_ok(jumpfs_bin, mountpoint)
    daemon = jfs.jumpfs_pids(mountpoint)[0]
    baseline = len(fd_targets(daemon))
    second = labmod.user_dir("jumpfs-mnt-")
    conf = write_config(workdir, server3_via(f"{SSH} -W %h:%p {J1}"))
    try:
        jfs.mount_ok(jumpfs_bin, second, "pc-server3", "-F", conf)
        assert jfs.jumpfs_pids(second) == []  # served by the first daemon
        command = the_command(mountpoint, "ssh")
        jfs.unmount(second)
        assert labmod._wait_pid_gone(command, 10), "the ProxyCommand outlived its mount"
        deadline = time.monotonic() + 10
        while len(fd_targets(daemon)) != baseline and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(fd_targets(daemon)) == baseline, fd_targets(daemon)
    finally:
        labmod.cleanup_mount(second)
        second.rmdir()
    jfs.unmount(mountpoint)


def test_fdpass_hands_over_the_connection(lab, jumpfs_bin, mountpoint, workdir, probe):
    # jump1 as a hop at port 2200, where nothing listens: only the socket
    # the command connects to port 22 and passes back (ProxyUseFdpass) can
    # reach its sshd. Its host key is known for [jumphost1...]:2200 here.
    assert labmod.connect_errno(labmod.JUMP1.addr, 2200) != 0
    known = workdir / "known_hosts"
    jump1_key = (labmod.STATE_DIR / "jump1" / "ssh_host_ed25519_key.pub").read_text().split()
    known.write_text(Path(f"/home/{labmod.JFS_USER}/.ssh/known_hosts").read_text() +
                     f"[{labmod.JUMP1.fqdn}]:2200 {jump1_key[0]} {jump1_key[1]}\n")
    _own(known, 0o644)
    conf = write_config(workdir,
        f"Host fd-jump1\n"
        f"  HostName {labmod.JUMP1.fqdn}\n"
        f"  Port 2200\n"
        f"  User {labmod.JUMP1.user}\n"
        f"  ProxyCommand {probe} fdpass %h 22\n"
        f"  ProxyUseFdpass yes\n"
        f"Host fd-server3\n"
        f"  HostName {labmod.BACKEND.addr}\n"
        f"  User {labmod.BACKEND.user}\n"
        f"  ProxyJump fd-jump1,{labmod.JUMP2.user}@{labmod.JUMP2.fqdn}:{labmod.JUMP2.port}\n"
        f"Host *\n"
        f"  UserKnownHostsFile {known}\n")
    before = lab.all_logins()
    jfs.mount_ok(jumpfs_bin, mountpoint, "fd-server3", "-F", conf)
    assert "hello.txt" in jfs.sh(f"ls {mountpoint}")
    after = lab.all_logins()
    # jumpfs logged into all three itself; the command only connected,
    # and has exited.
    assert {h: after[h] - before[h] for h in after} == {"jump1": 1, "jump2": 1, "backend": 1}
    _, children = daemon_children(mountpoint)
    assert children == []
    jfs.unmount(mountpoint)

    # A command that passes nothing: the hop fails, naming itself, with the
    # command's own words.
    bad = write_config(workdir, conf.read_text().replace("fdpass %h 22", "fdpass %h 2200"),
                       "bad")
    proc = jfs.mount(jumpfs_bin, mountpoint, "fd-server3", "-F", bad)
    assert proc.returncode != 0 and not labmod.is_mounted(mountpoint)
    message = proc.stderr.strip()
    assert message.startswith("jumpfs: hop 1/3 (user1@jumphost1.whatever.org:2200): "
                              "ProxyUseFdpass: no connection passed: the ProxyCommand exited "
                              "with status 1: proxy-probe: connect: Connection refused"), message
