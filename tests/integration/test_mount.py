"""The foundation: `jumpfs server3 MOUNTPOINT` through the real 2-hop lab,
as a normal user, with the seed's ~/.ssh/config."""

import os
import subprocess

import pytest

import jfs
import lab as labmod

BACKEND_HOME = labmod.BACKEND_HOME


@pytest.fixture
def mounted(lab, jumpfs_bin, mountpoint):
    jfs.mount_ok(jumpfs_bin, mountpoint)
    yield mountpoint
    if labmod.is_mounted(mountpoint):
        jfs.unmount(mountpoint)


@pytest.fixture
def scratch():
    """A fresh directory in the backend user's home, removed afterwards."""
    import pwd
    import shutil
    import tempfile
    pw = pwd.getpwnam(labmod.BACKEND.user)
    path = tempfile.mkdtemp(prefix="jfs-test-", dir=BACKEND_HOME)
    os.chown(path, pw.pw_uid, pw.pw_gid)
    os.chmod(path, 0o777)  # the mount writes as anotherusername; tests read as root
    yield os.path.basename(path)
    shutil.rmtree(path, ignore_errors=True)


def test_mount_shows_the_backend_home(mounted):
    listing = jfs.sh(f"ls -a {mounted}").split()
    assert "hello.txt" in listing
    assert sorted(listing) == sorted([".", ".."] + os.listdir(BACKEND_HOME))
    assert jfs.sh(f"cat {mounted}/hello.txt") == labmod.BACKEND_HELLO.read_text()
    fstype = labmod.fuse_mounts()[os.path.realpath(mounted)]
    assert fstype == "fuse.jumpfs"


def test_random_data_round_trip(mounted, scratch):
    sizes = [0, 1, 4095, 32000, 32001, 65536, 1 << 20, 5 * (1 << 20) + 7]
    code = f"""
import hashlib, os
for size in {sizes}:
    data = os.urandom(size)
    path = os.path.join({str(mounted)!r}, {scratch!r}, f"f{{size}}")
    with open(path, "wb") as f:
        f.write(data)
    with open(path, "rb") as f:
        assert f.read() == data, size
    print(size, hashlib.sha256(data).hexdigest())
"""
    for line in jfs.py(code).splitlines():
        size, digest = line.split()
        on_backend = BACKEND_HOME / scratch / f"f{size}"
        assert on_backend.stat().st_size == int(size)
        assert jfs.sha256_file(on_backend) == digest


def test_directory_and_rename_operations(mounted, scratch):
    d = f"{mounted}/{scratch}"
    jfs.sh(f"mkdir {d}/a && mkdir {d}/a/b && echo one > {d}/a/b/f && "
           f"mv {d}/a/b/f {d}/a/g && mv {d}/a {d}/c && echo two > {d}/c/h && "
           f"mv {d}/c/h {d}/c/g && rmdir {d}/c/b && ln -s g {d}/c/link && "
           f"chmod 640 {d}/c/g")
    backend = BACKEND_HOME / scratch
    assert sorted(os.listdir(backend)) == ["c"]
    assert sorted(os.listdir(backend / "c")) == ["g", "link"]
    assert (backend / "c" / "g").read_text() == "two\n"  # rename replaced it
    assert os.readlink(backend / "c" / "link") == "g"
    assert (backend / "c" / "g").stat().st_mode & 0o777 == 0o640
    assert jfs.sh(f"cat {d}/c/link") == "two\n"
    out = labmod.as_user(["rmdir", f"{d}/c"])
    assert out.returncode != 0 and "not empty" in out.stderr.lower()
    jfs.sh(f"rm {d}/c/g {d}/c/link && rmdir {d}/c")
    assert os.listdir(backend) == []


def test_mount_a_remote_path(lab, jumpfs_bin, mountpoint):
    jfs.mount_ok(jumpfs_bin, mountpoint, f"{labmod.SERVER3}:{labmod.BACKEND_DATA}")
    marker = labmod.BACKEND_DATA / "jfs-marker"
    marker.write_text("data dir\n")
    try:
        assert jfs.sh(f"cat {mountpoint}/jfs-marker") == "data dir\n"
    finally:
        marker.unlink()
        jfs.unmount(mountpoint)


def test_relative_remote_path_is_under_the_login_directory(lab, jumpfs_bin, mountpoint, scratch):
    (BACKEND_HOME / scratch / "inside").write_text("x")
    jfs.mount_ok(jumpfs_bin, mountpoint, f"{labmod.SERVER3}:{scratch}")
    try:
        assert jfs.sh(f"ls {mountpoint}").split() == ["inside"]
    finally:
        jfs.unmount(mountpoint)


def test_unmount_ends_the_daemon(lab, jumpfs_bin, mountpoint):
    jfs.mount_ok(jumpfs_bin, mountpoint)
    pids = jfs.jumpfs_pids(mountpoint)
    assert len(pids) == 1
    jfs.unmount(mountpoint)
    assert labmod._wait_pid_gone(pids[0], 10)


def test_no_ssh_process_is_spawned(mounted):
    jfs.sh(f"ls -la {mounted} >/dev/null && cat {mounted}/hello.txt >/dev/null")
    (pid,) = jfs.jumpfs_pids(mounted)
    assert jfs.children_of(pid) == []
    ssh = subprocess.run(["pgrep", "-x", "-P", str(pid), "ssh"], capture_output=True, text=True)
    assert ssh.stdout == ""
    maps = open(f"/proc/{pid}/maps").read()
    assert "libssh.so" in maps  # the chain runs in this process, through libssh
    # One process, its threads: the pumps of the three hops among them.
    threads = os.listdir(f"/proc/{pid}/task")
    assert len(threads) >= 4


def test_each_hop_logged_in_once(lab, jumpfs_bin, mountpoint):
    before = lab.all_logins()
    jfs.mount_ok(jumpfs_bin, mountpoint)
    jfs.sh(f"ls {mountpoint} >/dev/null")
    after = lab.all_logins()
    jfs.unmount(mountpoint)
    assert {h: after[h] - before[h] for h in after} == {"jump1": 1, "jump2": 1, "backend": 1}


def test_dash_J_overrides_proxyjump(lab, jumpfs_bin, mountpoint):
    # server2's own ProxyJump (jump1 only) cannot reach the backend; -J can.
    jfs.mount_ok(jumpfs_bin, mountpoint, labmod.SERVER2, "-J", labmod.PROXYJUMP_2HOPS)
    try:
        assert "hello.txt" in jfs.sh(f"ls {mountpoint}").split()
    finally:
        jfs.unmount(mountpoint)


def test_second_mount_shares_the_daemon_and_its_hops(lab, jumpfs_bin, mountpoint):
    import tempfile
    second = tempfile.mkdtemp(prefix="jumpfs-mnt-", dir="/tmp")
    os.chmod(second, 0o755)
    import pwd
    pw = pwd.getpwnam(labmod.JFS_USER)
    os.chown(second, pw.pw_uid, pw.pw_gid)
    try:
        before = lab.all_logins()
        jfs.mount_ok(jumpfs_bin, mountpoint)
        after_first = lab.all_logins()
        jfs.mount_ok(jumpfs_bin, second, f"{labmod.SERVER3}:{labmod.BACKEND_DATA}")
        after_second = lab.all_logins()
        assert {h: after_first[h] - before[h] for h in before} == \
            {"jump1": 1, "jump2": 1, "backend": 1}
        assert after_second == after_first, "the second mount logged in again"
        # Both mounts are served by the first daemon.
        daemons = jfs.jumpfs_pids(mountpoint)
        assert len(daemons) == 1
        assert jfs.jumpfs_pids(second) == []
        assert "hello.txt" in jfs.sh(f"ls {mountpoint}")
        jfs.sh(f"ls {second} >/dev/null")
        # The control socket is private to the user.
        sock = f"/tmp/jumpfs-{pw.pw_uid}/control"
        st = os.stat(sock)
        assert st.st_uid == pw.pw_uid and st.st_mode & 0o077 == 0
        assert os.stat(os.path.dirname(sock)).st_mode & 0o077 == 0
        # Unmounting one leaves the other served; the last one ends the daemon.
        jfs.unmount(mountpoint)
        assert "hello" not in jfs.sh(f"ls {second}")
        jfs.unmount(second)
        assert labmod._wait_pid_gone(daemons[0], 10)
        assert not os.path.exists(sock)
    finally:
        labmod.cleanup_mount(second)
        os.rmdir(second)


def test_no_share_uses_its_own_process_and_logins(lab, jumpfs_bin, mountpoint):
    import tempfile
    import pwd
    second = tempfile.mkdtemp(prefix="jumpfs-mnt-", dir="/tmp")
    pw = pwd.getpwnam(labmod.JFS_USER)
    os.chown(second, pw.pw_uid, pw.pw_gid)
    os.chmod(second, 0o755)
    try:
        jfs.mount_ok(jumpfs_bin, mountpoint)
        before = lab.logins("jump1")
        jfs.mount_ok(jumpfs_bin, second, labmod.SERVER3, "-o", "no_share")
        assert lab.logins("jump1") == before + 1
        assert len(jfs.jumpfs_pids(second)) == 1
        assert jfs.jumpfs_pids(second) != jfs.jumpfs_pids(mountpoint)
    finally:
        labmod.cleanup_mount(second)
        os.rmdir(second)


def test_max_conns_opens_channels_not_logins(lab, jumpfs_bin, mountpoint):
    for i in range(8):
        (BACKEND_HOME / f"jfs-mc-{i}").write_bytes(os.urandom(1 << 20))
    try:
        before = lab.all_logins()
        jfs.mount_ok(jumpfs_bin, mountpoint, labmod.SERVER3, "-o", "max_conns=4,no_share")
        # Eight readers at once: the slots fill up with SFTP channels.
        jfs.sh(" & ".join(f"cat {mountpoint}/jfs-mc-{i} >/dev/null" for i in range(8))
               + " & wait")
        servers = subprocess.run(["pgrep", "-c", "-u", labmod.BACKEND.user, "-x", "sftp-server"],
                                 capture_output=True, text=True).stdout.strip()
        after = lab.all_logins()
        assert {h: after[h] - before[h] for h in after} == {"jump1": 1, "jump2": 1, "backend": 1}
        assert int(servers or 0) >= 2, "parallel work ran over a single SFTP channel"
    finally:
        labmod.cleanup_mount(mountpoint)
        for i in range(8):
            (BACKEND_HOME / f"jfs-mc-{i}").unlink(missing_ok=True)
