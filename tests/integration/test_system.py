"""jumpfs as the system mounts it: `mount -t fuse.jumpfs` and fstab lines
through mount(8) and mount.fuse3, run by root for the lab user.

mount.fuse3 runs `jumpfs SOURCE MOUNTPOINT -o OPTIONS` through /bin/sh, and
mount(8) clears PATH first, so jumpfs must be in the shell's default path
(/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; `meson
install` puts it in /usr/local/bin). The tests install nothing: in their
private mount namespace a directory holding a `jumpfs` link to the build is
bind-mounted on /usr/local/sbin.

Each mount runs inside `unshare --mount` (private mounts), with
/etc/resolv.conf pointing at 127.0.0.1 there: if a bug made jumpfs read the
wrong ssh config, the name "server3" must not go to the real resolver.
Hence the checks of the mount run inside that namespace too (the helper
below), and `setsid` keeps the tester's terminal out of reach, as at boot.
Mounts use `no_share`, so that a shared daemon of the lab user started by
other tests (in the host's namespace) cannot take them over.
"""

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

import lab as labmod

IDENTITY = f"/home/{labmod.JFS_USER}/.ssh/id_ed25519"
SOURCE = f"{labmod.SERVER3}:{labmod.BACKEND_DATA}"

# Runs as root inside `unshare --mount`: private mounts, loopback-only DNS,
# optionally a /dev of its own whose /dev/log it reads (no syslog daemon
# needed, nothing changed outside). Prints what it saw as JSON.
INNER = textwrap.dedent(r'''
    import json, os, socket, subprocess, sys, time
    spec = json.loads(sys.argv[1])
    mnt = spec["mountpoint"]
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)
    run("mount", "--make-rprivate", "/")
    run("mount", "--bind", spec["resolv"], "/etc/resolv.conf")
    # mount(8) drops PATH; /bin/sh then searches its default path, where
    # /usr/local/sbin stands first: ours holds jumpfs, in here only.
    run("mount", "--bind", spec["bin"], "/usr/local/sbin")
    if spec.get("fstab"):
        run("mount", "--bind", spec["fstab"], "/etc/fstab")  # in here only
    log = None
    if spec.get("dev_log"):
        run("mount", "--rbind", "/dev", spec["olddev"])
        run("mount", "-t", "tmpfs", "-o", "mode=0755", "jfs-dev", "/dev")
        for name in ("null", "zero", "full", "random", "urandom", "fuse"):
            open("/dev/" + name, "w").close()
            run("mount", "--bind", spec["olddev"] + "/" + name, "/dev/" + name)
        log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        log.bind("/dev/log")
        os.chmod("/dev/log", 0o666)  # jumpfs may run as the lab user
    env = dict(os.environ)
    out = {}
    try:
        p = subprocess.run(spec["command"], env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=90)
        out.update(rc=p.returncode, stdout=p.stdout, stderr=p.stderr)
        mounts = [l.split() for l in open("/proc/self/mounts") if l.split()[1] == mnt]
        out["mounts"] = mounts
        if mounts:
            out["listing"] = sorted(os.listdir(mnt))
            marker = os.path.join(mnt, spec.get("marker") or "-")
            out["marker"] = open(marker).read() if os.path.exists(marker) else None
            for command in spec.get("after_mount", []):
                subprocess.run(command, capture_output=True, timeout=60)
                # The first request may still meet the dead connection
                # (ENOTCONN); the mount must come back within seconds.
                deadline = time.monotonic() + 10
                while True:
                    try:
                        out["listing_after"] = sorted(os.listdir(mnt))
                        break
                    except OSError as e:
                        out["listing_after"] = str(e)
                        if time.monotonic() > deadline:
                            break
                        time.sleep(0.2)
            # Commands whose outcome the test judges (e.g. another user
            # trying a file): [rc, stdout, stderr] each.
            out["probes"] = []
            for command in spec.get("probes", []):
                p = subprocess.run(command, capture_output=True, text=True, timeout=60)
                out["probes"].append([p.returncode, p.stdout, p.stderr])
            out["daemon_uids"] = []
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
                    status = open(f"/proc/{pid}/status").read()
                except OSError:
                    continue
                if os.path.basename(argv[0]) == b"jumpfs" and mnt.encode() in argv:
                    uid = [l.split()[1] for l in status.splitlines() if l.startswith("Uid:")]
                    out["daemon_uids"].append(int(uid[0]))
            u = subprocess.run(["umount", mnt], capture_output=True, text=True)
            out["umount_rc"] = u.returncode
            time.sleep(0.2)
            out["mounted_after_umount"] = any(
                l.split()[1] == mnt for l in open("/proc/self/mounts"))
    finally:
        subprocess.run(["umount", "-l", mnt], capture_output=True)
    if log is not None:
        log.setblocking(False)
        out["syslog"] = []
        try:
            while True:
                out["syslog"].append(log.recv(65536).decode(errors="replace"))
        except BlockingIOError:
            pass
    print(json.dumps(out))
''')


@pytest.fixture
def system(lab, jumpfs_bin):
    """A scratch directory with bin/jumpfs (the build), a loopback-only
    resolv.conf and the namespace helper; removed afterwards."""
    import shutil
    work = Path(tempfile.mkdtemp(prefix="jumpfs-system-", dir="/tmp"))
    work.chmod(0o755)
    (work / "bin").mkdir(mode=0o755)
    (work / "bin" / "jumpfs").symlink_to(jumpfs_bin)
    (work / "resolv.conf").write_text("nameserver 127.0.0.1\n")
    (work / "olddev").mkdir()
    (work / "inner.py").write_text(INNER)
    yield work
    shutil.rmtree(work, ignore_errors=True)


def in_namespace(system, mountpoint, command, net=False, dev_log=False, marker=None,
                 after_mount=(), fstab=None, probes=()):
    """Runs command (mount ...) as root in a private mount namespace, no
    terminal; returns what the helper saw. Kills what it left, pass or fail."""
    spec = {"mountpoint": str(mountpoint), "resolv": str(system / "resolv.conf"),
            "bin": str(system / "bin"), "command": [str(c) for c in command],
            "dev_log": dev_log, "olddev": str(system / "olddev"), "marker": marker,
            "after_mount": [[str(c) for c in command] for command in after_mount],
            "fstab": str(fstab) if fstab else None,
            "probes": [[str(c) for c in command] for command in probes]}
    unshare = ["unshare", "--mount"] + (["--net"] if net else [])
    try:
        proc = subprocess.run(["setsid", "-w", *unshare, sys.executable,
                               str(system / "inner.py"), json.dumps(spec)],
                              capture_output=True, text=True, timeout=150,
                              stdin=subprocess.DEVNULL)
    finally:
        labmod.cleanup_mount(mountpoint)  # a daemon left behind dies here
    assert proc.returncode == 0, f"namespace helper failed:\n{proc.stdout}{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def marker():
    """A file in the backend's /srv/data that the mount must show."""
    import pwd
    name = f"jfs-system-{os.getpid()}"
    path = labmod.BACKEND_DATA / name
    path.write_text("seen through mount.fuse3\n")
    pw = pwd.getpwnam(labmod.BACKEND.user)
    os.chown(path, pw.pw_uid, pw.pw_gid)
    yield name
    path.unlink(missing_ok=True)


def jfsuser_uid():
    import pwd
    return pwd.getpwnam(labmod.JFS_USER).pw_uid


def assert_mounted_and_unmounted(seen, mountpoint, marker):
    assert seen["rc"] == 0, seen
    (entry,) = seen["mounts"]
    source, _, fstype, options = entry[:4]
    assert (source, fstype) == (SOURCE, "fuse.jumpfs")
    assert "allow_other" in options.split(",")
    assert f"user_id={jfsuser_uid()}" in options.split(",")  # served as the user
    assert marker in seen["listing"]
    assert seen["listing"] == sorted(os.listdir(labmod.BACKEND_DATA))
    assert seen["marker"] == "seen through mount.fuse3\n"
    # One daemon, running as the lab user, not as root.
    assert seen["daemon_uids"] == [jfsuser_uid()]
    assert seen["umount_rc"] == 0 and not seen["mounted_after_umount"]
    assert not labmod.is_mounted(mountpoint)


def test_mount_t_as_root_with_the_users_ssh_config(system, mountpoint, marker):
    seen = in_namespace(system, mountpoint, [
        "mount", "-t", "fuse.jumpfs", SOURCE, mountpoint, "-o",
        f"ssh_user_config={labmod.JFS_USER},IdentityFile={IDENTITY},allow_other,no_share"],
        marker=marker)
    assert_mounted_and_unmounted(seen, mountpoint, marker)


def write_fstab(system, mountpoint, options, source=SOURCE):
    fstab = system / "fstab"
    fstab.write_text(f"# jumpfs test\n{source} {mountpoint} fuse.jumpfs {options} 0 0\n")
    return fstab


FSTAB_OPTIONS = ("noauto,x-systemd.automount,x-systemd.idle-timeout=60,_netdev,user,"
                 f"IdentityFile={IDENTITY},allow_other,no_share")


def test_fstab_line_through_mount_T(system, mountpoint, marker):
    fstab = write_fstab(system, mountpoint,
                        f"{FSTAB_OPTIONS},ssh_user_config={labmod.JFS_USER}")
    seen = in_namespace(system, mountpoint, ["mount", "-T", fstab, mountpoint], marker=marker)
    assert_mounted_and_unmounted(seen, mountpoint, marker)
    # fstab's "user" means noexec,nosuid,nodev for the mount.
    assert {"noexec", "nosuid", "nodev"} <= set(seen["mounts"][0][3].split(","))


def test_fstab_line_with_mount_fuse3_setuid(system, mountpoint, marker):
    # mount.fuse3's own setuid=USER: jumpfs starts as the user, without
    # HOME (mount(8) clears it), and reads the user's ~/.ssh all the same.
    fstab = write_fstab(system, mountpoint, f"{FSTAB_OPTIONS},setuid={labmod.JFS_USER}")
    seen = in_namespace(system, mountpoint, ["mount", "-T", fstab, mountpoint], marker=marker)
    assert_mounted_and_unmounted(seen, mountpoint, marker)


def test_fstab_user_option_lets_the_user_mount_it(system, mountpoint, marker):
    # "user" in /etc/fstab (bind-mounted over it in the namespace only): the
    # lab user runs `mount MOUNTPOINT`, and mount(8) runs jumpfs as them,
    # with their own ~/.ssh; no ssh_user_config needed.
    fstab = write_fstab(system, mountpoint, "noauto,_netdev,user,allow_other,no_share")
    seen = in_namespace(system, mountpoint,
                        ["runuser", "-u", labmod.JFS_USER, "--", "mount", mountpoint],
                        marker=marker, fstab=fstab)
    assert_mounted_and_unmounted(seen, mountpoint, marker)


def test_fstab_bad_host_fails_on_stderr_and_in_syslog(system, mountpoint):
    # No network at all in this namespace: the unknown name goes nowhere.
    fstab = write_fstab(system, mountpoint,
                        f"{FSTAB_OPTIONS},ssh_user_config={labmod.JFS_USER}",
                        source="no-such-host.invalid:/srv/data")
    seen = in_namespace(system, mountpoint, ["mount", "-T", fstab, mountpoint],
                        net=True, dev_log=True)
    assert seen["rc"] != 0
    assert seen["mounts"] == []
    expected = ("hop 1/1 (jfsuser@no-such-host.invalid:22): cannot resolve "
                "no-such-host.invalid")
    assert f"jumpfs: {expected}" in seen["stderr"], seen
    # The same line in syslog, where nobody at boot misses it.
    logged = [m for m in seen["syslog"] if expected in m]
    assert len(logged) == 1, seen["syslog"]
    assert logged[0].startswith("<27>") and " jumpfs[" in logged[0]  # daemon.err


def test_fstab_mount_never_prompts(system, mountpoint, lab):
    # jump2 wants a password; at boot there is nobody to ask.
    lab.run("password", "jump2", "on")
    fstab = write_fstab(system, mountpoint,
                        f"{FSTAB_OPTIONS},ssh_user_config={labmod.JFS_USER}")
    seen = in_namespace(system, mountpoint, ["mount", "-T", fstab, mountpoint])
    assert seen["rc"] != 0
    assert seen["mounts"] == []
    assert ("jumpfs: hop 2/3 (user2@jumphost2.whatever.org:2222): authentication failed "
            "for user 'user2'") in seen["stderr"], seen
    assert "no terminal to ask on" in seen["stderr"]


def test_daemon_logs_to_syslog_naming_the_hop(system, mountpoint, marker):
    # Mounted from fstab, then jump2's sessions die: the daemon, detached
    # from any terminal, says so in syslog with the hop, and reconnects.
    fstab = write_fstab(system, mountpoint,
                        f"{FSTAB_OPTIONS},ssh_user_config={labmod.JFS_USER}")
    seen = in_namespace(system, mountpoint, ["mount", "-T", fstab, mountpoint],
                        dev_log=True, marker=marker,
                        after_mount=[[labmod.LAB_SCRIPT, "kill-sessions", "jump2"]])
    assert seen["rc"] == 0, seen
    assert seen["stderr"] == "", seen  # nothing on the terminal once mounted
    assert marker in seen["listing_after"]  # reconnected
    logged = "\n".join(seen["syslog"])
    assert " jumpfs[" in logged
    # A session's own log lines say "hop 2", not "hop 2/3": the cache shares
    # it with chains of other lengths.
    lost = [m for m in seen["syslog"] if "hop 2 (user2@jumphost2.whatever.org:2222)" in m]
    assert lost, logged
    assert any("connection lost" in m for m in lost), logged


def test_unknown_option_through_mount_fails_with_fuses_words(system, mountpoint):
    seen = in_namespace(system, mountpoint, [
        "mount", "-t", "fuse.jumpfs", SOURCE, mountpoint,
        "-o", f"ssh_user_config={labmod.JFS_USER},allow_other,no_share,bogus_option"])
    assert seen["rc"] != 0
    assert seen["mounts"] == []
    assert "jumpfs: unknown option(s): `-o bogus_option' (see jumpfs --help)" in seen["stderr"]


# --- the command line users expect ------------------------------------------

SSHFS_NAMES = ["reconnect", "ServerAliveInterval", "IdentityFile", "Port", "idmap", "uid",
               "gid", "allow_other", "default_permissions", "cache_timeout", "max_conns",
               "follow_symlinks", "transform_symlinks", "compression"]


def test_help_lists_the_options_in_groups(jumpfs_bin):
    proc = subprocess.run([str(jumpfs_bin), "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    out = proc.stdout
    groups = ["General options:", "SSH options:", "jumpfs options (sshfs's names):",
              "FUSE options"]
    positions = [out.index(g) for g in groups]
    assert positions == sorted(positions)
    for name in SSHFS_NAMES + ["password_stdin", "ssh_user_config", "no_share", "--check",
                               "_netdev", "x-systemd.*", "SSH_ASKPASS", "BatchMode"]:
        assert name in out, name


def test_version_names_the_libraries(jumpfs_bin):
    proc = subprocess.run([str(jumpfs_bin), "--version"], capture_output=True, text=True)
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("jumpfs ")
    fuse = subprocess.run(["pkg-config", "--modversion", "fuse3"], capture_output=True,
                          text=True).stdout.strip()
    libssh = subprocess.run(["pkg-config", "--modversion", "libssh"], capture_output=True,
                            text=True).stdout.strip()
    assert any(line.startswith(f"libfuse {fuse} ") for line in lines), (fuse, lines)
    assert any(line.startswith(f"libssh {libssh}") for line in lines), (libssh, lines)


def test_sshfs_option_names_are_accepted_with_their_meaning(lab, jumpfs_bin, mountpoint):
    import jfs
    import pwd
    pw = pwd.getpwnam(labmod.JFS_USER)
    options = (f"reconnect,ServerAliveInterval=5,IdentityFile={IDENTITY},Port=22,"
               f"uid={pw.pw_uid},gid={pw.pw_gid},allow_other,default_permissions,"
               "cache_timeout=5,max_conns=2,follow_symlinks,transform_symlinks,"
               "compression=yes,idmap=user,no_share")
    jfs.mount_ok(jumpfs_bin, mountpoint, labmod.SERVER3, "-o", options)
    try:
        out = jfs.sh(f"stat -c '%u %g' {mountpoint}/hello.txt && cat {mountpoint}/hello.txt")
        assert out.splitlines() == [f"{pw.pw_uid} {pw.pw_gid}",
                                    labmod.BACKEND_HELLO.read_text().rstrip("\n")]
        mount_options = [line.split()[3] for line in open("/proc/mounts")
                         if line.split()[1] == str(mountpoint)][0].split(",")
        assert "allow_other" in mount_options and "default_permissions" in mount_options
    finally:
        jfs.unmount(mountpoint)


def test_dash_o_User_sets_the_target_user(lab, jumpfs_bin, mountpoint):
    import jfs
    # The backend by address, no alias: without User= jumpfs would log in
    # as the local user (jfsuser), whom the backend refuses.
    target = labmod.BACKEND.addr
    proc = jfs.mount(jumpfs_bin, mountpoint, target, "-J", labmod.PROXYJUMP_2HOPS, "-o", "no_share")
    assert proc.returncode != 0 and "hop 3/3 (jfsuser@10.77.3.2:22)" in proc.stderr
    jfs.mount_ok(jumpfs_bin, mountpoint, target, "-J", labmod.PROXYJUMP_2HOPS,
                 "-o", f"User={labmod.BACKEND.user},no_share")
    try:
        assert "hello.txt" in jfs.sh(f"ls {mountpoint}").split()
    finally:
        jfs.unmount(mountpoint)
