"""Algorithm lists reach libssh at every hop, and the chain cache keeps
sessions of different lists apart.  The oracle is each sshd's own log at
LogLevel DEBUG1 ("kex: client->server cipher: ..."), not jumpfs's word."""

import os
import pwd
import re
import time
from pathlib import Path

import pytest

import jfs
import lab as labmod

HOSTS = ("jump1", "jump2", "backend")
CHACHA = "chacha20-poly1305@openssh.com"
KEX_CIPHER = re.compile(r"kex: client->server cipher: (\S+) MAC: (\S+)")


def write_config(directory, name, text):
    """A config file owned by the lab user (jumpfs -F FILE)."""
    pw = pwd.getpwnam(labmod.JFS_USER)
    path = directory / name
    path.write_text(text)
    os.chown(path, pw.pw_uid, pw.pw_gid)
    path.chmod(0o644)
    return path


def chain_config(host_block):
    """server3's chain, every hop (jump hosts are resolved under their own
    names, so `Host *`) with host_block's lines."""
    return (f"Host server3\n"
            f"  HostName {labmod.BACKEND.addr}\n"
            f"  User {labmod.BACKEND.user}\n"
            f"  ProxyJump {labmod.PROXYJUMP_2HOPS}\n"
            f"Host *\n{host_block}")


@pytest.fixture
def debug_logs(lab):
    """Every sshd at LogLevel DEBUG1 (undone by the lab fixture's restore)."""
    for h in HOSTS:
        lab.loglevel(h, "debug")
    return {h: lab.log_path(h) for h in HOSTS}


class LogCursor:
    """New lines of each host's sshd log since the last take()."""

    def __init__(self, paths):
        self.paths = paths
        self.offsets = {h: p.stat().st_size for h, p in paths.items()}

    def take(self):
        new = {}
        for h, p in self.paths.items():
            with open(p, "rb") as f:
                f.seek(self.offsets[h])
                data = f.read()
            self.offsets[h] += len(data)
            new[h] = data.decode(errors="replace")
        return new


def ciphers_in(lines):
    return [m.group(1) for m in KEX_CIPHER.finditer(lines)]


def test_cipher_list_is_what_every_hop_negotiates(lab, jumpfs_bin, mountpoint, workdir,
                                                   debug_logs):
    conf = write_config(workdir, "ctr.conf", chain_config("  Ciphers aes256-ctr,aes192-ctr\n"))
    logs = LogCursor(debug_logs)
    stderr = workdir / "stderr"
    with open(stderr, "w") as err:
        # -d: debug output, in the foreground (its own process).
        proc = labmod.popen_as_user([jumpfs_bin, "server3", mountpoint, "-F", conf, "-d"],
                                    stdout=err, stderr=err, env=jfs._env(None))
    try:
        labmod.wait_for_mount(mountpoint, timeout=30, proc=proc)
        assert "hello.txt" in jfs.sh(f"ls {mountpoint}")
        new = logs.take()
        for h in HOSTS:
            assert ciphers_in(new[h]) == ["aes256-ctr"], f"{h}: {new[h][-2000:]}"
        # jumpfs reports the same, per hop.
        text = stderr.read_text()
        client = re.findall(r"(hop \d/3) \([^)]*\): kex \S+, cipher ([^\s,]+)", text)
        assert client == [("hop 1/3", "aes256-ctr"), ("hop 2/3", "aes256-ctr"),
                          ("hop 3/3", "aes256-ctr")], text
        jfs.unmount(mountpoint)
        assert proc.wait(timeout=10) == 0
    finally:
        labmod.cleanup_mount(mountpoint, [proc])


def test_mounts_with_other_lists_never_share_a_session(lab, jumpfs_bin, mountpoint, workdir,
                                                        debug_logs):
    with_chacha = write_config(workdir, "chacha.conf", chain_config(f"  Ciphers {CHACHA}\n"))
    # The usual Terrapin advice: OpenSSH's defaults less chacha.
    without = write_config(workdir, "nochacha.conf", chain_config(f"  Ciphers -{CHACHA}\n"))
    second = labmod.user_dir("jumpfs-mnt-")
    logs = LogCursor(debug_logs)
    try:
        before = lab.all_logins()
        jfs.mount_ok(jumpfs_bin, mountpoint, "server3", "-F", with_chacha)
        new = logs.take()
        # The oracle sees chacha when it is used.
        assert all(ciphers_in(new[h]) == [CHACHA] for h in HOSTS), new
        after_first = lab.all_logins()

        # Served by the same daemon (its cache holds the chacha sessions),
        # yet every hop is logged into again, and none of it is chacha.
        jfs.mount_ok(jumpfs_bin, second, "server3", "-F", without)
        assert jfs.jumpfs_pids(second) == [], "the second mount did not share the daemon"
        assert "hello.txt" in jfs.sh(f"ls {second}")
        new = logs.take()
        after_second = lab.all_logins()
        assert {h: after_first[h] - before[h] for h in HOSTS} == dict.fromkeys(HOSTS, 1)
        assert {h: after_second[h] - after_first[h] for h in HOSTS} == dict.fromkeys(HOSTS, 1)
        for h in HOSTS:
            # What is left is kept in OpenSSH's order: aes128-ctr first.
            assert ciphers_in(new[h]) == ["aes128-ctr"], f"{h}: {new[h][-2000:]}"
        # ... while the first mount still runs on its own sessions.
        assert "hello.txt" in jfs.sh(f"ls {mountpoint}")
    finally:
        labmod.cleanup_mount(second)
        second.rmdir()


def sessions_ended(text, user):
    """(logins of user, how many of them ended) in a piece of sshd log."""
    ports = re.findall(rf"Accepted publickey for {user} from \S+ port (\d+)", text)
    ended = [p for p in ports if re.search(
        rf"(Closing connection to|Disconnected from user {user}) \S+ port {p}\b", text)]
    return len(ports), len(ended)


def test_an_unmounted_chain_is_logged_out_while_another_stays(lab, jumpfs_bin, mountpoint,
                                                              workdir):
    # Each hop's fd closes with its session (libssh 0.10 keeps an fd given
    # with SSH_OPTIONS_FD open on disconnect; the hop before would never
    # see its channel end, and so never be idle and logged out).
    other = write_config(workdir, "ctr.conf", chain_config("  Ciphers aes128-ctr\n"))
    second = labmod.user_dir("jumpfs-mnt-")
    try:
        jfs.mount_ok(jumpfs_bin, mountpoint)  # keeps the shared daemon alive
        (daemon,) = jfs.jumpfs_pids(mountpoint)
        baseline = len(os.listdir(f"/proc/{daemon}/fd"))
        logs = LogCursor({h: lab.log_path(h) for h in HOSTS})
        jfs.mount_ok(jumpfs_bin, second, "server3", "-F", other)
        assert jfs.jumpfs_pids(second) == []
        jfs.unmount(second)
        deadline = time.monotonic() + 15
        while len(os.listdir(f"/proc/{daemon}/fd")) != baseline:
            assert time.monotonic() < deadline, os.listdir(f"/proc/{daemon}/fd")
            time.sleep(0.2)
        # Each sshd saw its session end (its log may lag a moment).
        seen = dict.fromkeys(HOSTS, "")
        while time.monotonic() < deadline + 5:
            for h, text in logs.take().items():
                seen[h] += text
            if all(sessions_ended(seen[h], labmod.HOSTS[h].user) == (1, 1) for h in HOSTS):
                break
            time.sleep(0.2)
        for h in HOSTS:
            assert sessions_ended(seen[h], labmod.HOSTS[h].user) == (1, 1), \
                f"{h}: {seen[h][-1500:]}"
        assert "hello.txt" in jfs.sh(f"ls {mountpoint}")
    finally:
        labmod.cleanup_mount(second)
        second.rmdir()
