"""The shared daemon: its loop only dispatches, mounts are set up on threads
of their own, SIGTERM unmounts at once, many mounts at once log in once.

Every test starts with no daemon of the lab user and leaves none behind.
"""

import os
import pwd
import signal
import socket
import subprocess
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

import jfs
import lab as labmod


def _uid():
    return pwd.getpwnam(labmod.JFS_USER).pw_uid


def control_socket():
    return Path(f"/tmp/jumpfs-{_uid()}/control")


def daemon_pid():
    """pid of the process listening on the user's control socket, or None."""
    out = subprocess.run(["ss", "-xlpn"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if str(control_socket()) in line and "pid=" in line:
            return int(line.split("pid=")[1].split(",")[0])
    return None


@pytest.fixture
def mountpoints(lab):
    """make(n): n fresh mount points of the lab user; all cleaned up."""
    pw = pwd.getpwnam(labmod.JFS_USER)
    made = []

    def make(n):
        paths = []
        for _ in range(n):
            path = Path(tempfile.mkdtemp(prefix="jumpfs-share-", dir="/tmp"))
            os.chown(path, pw.pw_uid, pw.pw_gid)
            path.chmod(0o755)
            paths.append(path)
        made.extend(paths)
        return paths

    yield make
    for path in made:
        labmod.cleanup_mount(path)
    pid = daemon_pid()
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        labmod._wait_pid_gone(pid, 10)
    for path in made:
        if not labmod.is_mounted(path):
            try:
                path.rmdir()
            except OSError:
                pass


SILENT_CLIENT = textwrap.dedent("""
    import socket, sys, time
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    print("connected", flush=True)
    time.sleep(float(sys.argv[2]))
""")


def silent_client(seconds):
    """A client of the lab user that connects and says nothing."""
    proc = labmod.popen_as_user(["/usr/bin/python3", "-c", SILENT_CLIENT,
                                 str(control_socket()), str(seconds)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
    assert proc.stdout.readline().strip() == "connected", proc.stderr.read()
    return proc


def kill_group(proc):
    """Kills proc and what it started (runuser's child survives runuser)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


class SilentSshd:
    """A TCP server on loopback that accepts and never says a word: an SSH
    login to it waits for the server's banner until ConnectTimeout."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def test_a_silent_client_blocks_no_mount(lab, jumpfs_bin, mountpoints):
    first, second = mountpoints(2)
    jfs.mount_ok(jumpfs_bin, first)
    pid = daemon_pid()
    assert pid is not None
    quiet = silent_client(60)
    try:
        start = time.monotonic()
        jfs.mount_ok(jumpfs_bin, second, f"{labmod.SERVER3}:{labmod.BACKEND_DATA}")
        took = time.monotonic() - start
        assert took < 5, f"the second mount waited {took:.1f}s behind a silent client"
        assert jfs.jumpfs_pids(second) == [] and daemon_pid() == pid  # the daemon took it
    finally:
        kill_group(quiet)
    jfs.unmount(second)
    jfs.unmount(first)
    assert labmod._wait_pid_gone(pid, 10)


@pytest.mark.unsanitized_only("a 10 s timer; test_a_silent_client_blocks_no_mount runs the same "
                               "path sanitized")
def test_the_silent_client_is_hung_up_on(lab, jumpfs_bin, mountpoints):
    (first,) = mountpoints(1)
    jfs.mount_ok(jumpfs_bin, first)
    quiet = labmod.popen_as_user(["/usr/bin/python3", "-c", textwrap.dedent("""
        import socket, sys, time
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sys.argv[1])
        start = time.monotonic()
        data = s.recv(100)
        print(f"{time.monotonic() - start:.1f} {data!r}")
    """), str(control_socket())], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = quiet.communicate(timeout=30)
    waited, data = out.split(" ", 1)
    assert data.strip() == "b''", out  # closed, without an answer
    assert 8 <= float(waited) <= 15, out
    jfs.unmount(first)


def test_relative_paths_are_the_commands(lab, jumpfs_bin, mountpoints):
    first, second = mountpoints(2)
    jfs.mount_ok(jumpfs_bin, first)
    pid = daemon_pid()
    config = second.parent / f"{second.name}.config"
    config.write_text(f"Host relative-alias\n  HostName {labmod.BACKEND.addr}\n"
                      f"  User {labmod.BACKEND.user}\n  ProxyJump {labmod.PROXYJUMP_2HOPS}\n")
    try:
        # From the mount point's parent: a relative mount point and -F file.
        proc = labmod.as_user(["sh", "-c", f"cd {second.parent} && exec {jumpfs_bin} "
                               f"-F {config.name} relative-alias:{labmod.BACKEND_DATA} "
                               f"{second.name}"], env=jfs._env(None))
        assert proc.returncode == 0, proc.stderr
        labmod.wait_for_mount(second)
        assert daemon_pid() == pid and jfs.jumpfs_pids(second) == []
        jfs.unmount(second)
    finally:
        config.unlink()
    # The daemon keeps no directory of the client's busy.
    assert os.readlink(f"/proc/{pid}/cwd") == "/"
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            cwd = os.readlink(f"/proc/{pid}/task/{task}/cwd")
        except FileNotFoundError:
            continue  # a thread that just ended
        assert cwd == "/", task
    jfs.unmount(first)


def test_a_slow_login_blocks_no_request(lab, jumpfs_bin, mountpoints):
    first, slow, third = mountpoints(3)
    jfs.mount_ok(jumpfs_bin, first)
    pid = daemon_pid()
    sshd = SilentSshd()
    try:
        # The daemon sets this one up on a thread of its own, which waits
        # for a banner that never comes.
        hanging = labmod.popen_as_user(
            [str(jumpfs_bin), "nobody@127.0.0.1:/", str(slow), "-p", str(sshd.port),
             "-J", "none", "-o", "ConnectTimeout=6"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=jfs._env(None))
        deadline = time.monotonic() + 5
        while not sshd.conns and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sshd.conns, "the slow mount never reached its sshd"
        # Meanwhile the daemon takes and answers other requests.
        start = time.monotonic()
        proc = jfs.mount(jumpfs_bin, third, labmod.SERVER3, "-o", "bogus_option")
        took = time.monotonic() - start
        assert proc.returncode == 1
        assert "jumpfs: unknown option(s): `-o bogus_option' (see jumpfs --help)" in proc.stderr
        assert took < 2, f"a request waited {took:.1f}s behind another's login"
        # And a whole mount, logins included (other prefixes log in in
        # parallel).
        start = time.monotonic()
        jfs.mount_ok(jumpfs_bin, third, f"{labmod.SERVER3}:{labmod.BACKEND_DATA}")
        took = time.monotonic() - start
        assert took < 4, f"a mount waited {took:.1f}s behind another's login"
        assert daemon_pid() == pid and jfs.jumpfs_pids(third) == []
        jfs.unmount(third)
        out, err = hanging.communicate(timeout=30)
        assert hanging.returncode == 1, out + err
        assert "127.0.0.1" in err, err  # the slow mount's own error, on its terminal
        assert not labmod.is_mounted(slow)
    finally:
        sshd.close()
    jfs.unmount(first)


def test_sigterm_unmounts_everything_at_once(lab, jumpfs_bin, mountpoints):
    first, second, slow = mountpoints(3)
    jfs.mount_ok(jumpfs_bin, first)
    jfs.mount_ok(jumpfs_bin, second, f"{labmod.SERVER3}:{labmod.BACKEND_DATA}")
    pid = daemon_pid()
    quiet = silent_client(60)
    sshd = SilentSshd()
    hanging = labmod.popen_as_user(
        [str(jumpfs_bin), "nobody@127.0.0.1:/", str(slow), "-p", str(sshd.port), "-J", "none",
         "-o", "ConnectTimeout=8"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=jfs._env(None))
    try:
        deadline = time.monotonic() + 5
        while not sshd.conns and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sshd.conns
        # A reader in the middle of a file, too.
        reader = labmod.popen_as_user(["sh", "-c", f"while cat {first}/hello.txt; do :; done"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        start = time.monotonic()
        os.kill(pid, signal.SIGTERM)
        while (labmod.is_mounted(first) or labmod.is_mounted(second)) and \
                time.monotonic() - start < 5:
            time.sleep(0.02)
        took = time.monotonic() - start
        assert not labmod.is_mounted(first) and not labmod.is_mounted(second)
        assert took < 1.0, f"unmounting began {took:.2f}s after SIGTERM"
        # No new mount is taken while going down, and the daemon ends once
        # the login in flight gives up.
        assert not control_socket().exists()
        assert labmod._wait_pid_gone(pid, 15)
        hanging.communicate(timeout=15)
        assert not labmod.is_mounted(slow)
        reader.kill()
        reader.wait()
    finally:
        kill_group(quiet)
        sshd.close()
        if hanging.poll() is None:
            hanging.kill()


def test_many_mounts_at_once_log_in_once(lab, jumpfs_bin, mountpoints):
    """8 processes start at once with no daemon running: one of them becomes
    the daemon, the others hand it their mounts. Then 32 mounts and
    unmounts from 8 processes at once: all succeed, nothing logs in again."""
    anchors = mountpoints(8)
    cycling = mountpoints(32)
    before = lab.all_logins()
    script = "; ".join([
        "set -e",
        f"{jumpfs_bin} {labmod.SERVER3} \"$1\"",
        "test -e \"$1\"/hello.txt",
    ])
    procs = [labmod.popen_as_user(["sh", "-c", script, "sh", str(a)], env=jfs._env(None),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for a in anchors]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, out + err
    pid = daemon_pid()
    assert pid is not None
    for a in anchors:
        assert labmod.is_mounted(a) and jfs.jumpfs_pids(a) in ([pid], [])
    assert {h: lab.all_logins()[h] - before[h] for h in before} == \
        {"jump1": 1, "jump2": 1, "backend": 1}

    cycle = "\n".join([
        "set -e",
        "for m in \"$@\"; do",
        f"  {jumpfs_bin} {labmod.SERVER3}:{labmod.BACKEND_DATA} \"$m\"",
        # stat, not ls: the kernel drops a RELEASEDIR still queued when the
        # unmount comes, and libfuse then never frees that directory
        # handle (a libfuse leak that ASan would report).
        "  stat \"$m\" >/dev/null",
        "  fusermount3 -u \"$m\"",
        "done",
    ])
    procs = [labmod.popen_as_user(["sh", "-c", cycle, "sh", *map(str, cycling[i::8])],
                                  env=jfs._env(None),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for i in range(8)]
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, out + err
    after = lab.all_logins()
    assert {h: after[h] - before[h] for h in before} == {"jump1": 1, "jump2": 1, "backend": 1}
    assert daemon_pid() == pid
    assert not any(labmod.is_mounted(m) for m in cycling)
    for a in anchors:
        jfs.unmount(a)
    assert labmod._wait_pid_gone(pid, 10)


# Runs as root inside `unshare --mount`: the same user and environment as
# the daemon's, in another mount namespace. Prints what it saw as JSON.
OTHER_NAMESPACE = textwrap.dedent(r'''
    import json, os, socket, struct, subprocess, sys
    jumpfs, mnt, sock, daemon_env = sys.argv[1:5]
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    out = {}

    def frame(kind, strings):
        payload = b"".join(struct.pack("=I", len(s)) + s for s in strings)
        return struct.pack("=IBI", 0x4a465332, ord(kind), len(payload)) + payload

    def ask(data, fds=()):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock)
        s.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, bytes(
            __import__("array").array("i", fds)))] if fds else [])
        s.settimeout(20)
        reply = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return reply
            reply += chunk

    def verdict(reply):
        magic, kind, length = struct.unpack("=IBI", reply[:9])
        body, strings = reply[9:9 + length], []
        while body:
            (n,) = struct.unpack("=I", body[:4])
            strings.append(body[4:4 + n].decode())
            body = body[4 + n:]
        return [chr(kind), *strings]

    # Forged requests that copy the daemon's context: jumpfs 0.1's claim
    # string, and the current protocol with the daemon's environment but
    # no proof of the root, or this namespace's root. Sent as the daemon's
    # own user, as a forger would be.
    def forge():
        old = [b"/", context, b"jumpfs", b"server3", mnt.encode()]
        seen = {"old": ask(struct.pack("=I", len(old)) + b"".join(
            struct.pack("=I", len(s)) + s for s in old)).decode(errors="replace")}
        new = [b"/", str(len(env)).encode(), *env, b"jumpfs", b"server3", mnt.encode()]
        seen["no_fd"] = verdict(ask(frame("M", new)))
        root = os.open("/", os.O_PATH | os.O_DIRECTORY)
        seen["own_root"] = verdict(ask(frame("M", new), [root, root]))
        return seen

    import pwd
    context = b"mnt=" + os.readlink(f"/proc/{sys.argv[5]}/ns/mnt").encode() + \
              b" agent= askpass= display="
    env = [e for e in open(daemon_env, "rb").read().split(b"\0") if e]
    user = pwd.getpwnam("jfsuser")
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(reader)
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)
        os.write(writer, json.dumps(forge()).encode())
        os._exit(0)
    os.close(writer)
    out.update(json.loads(os.fdopen(reader).read()))
    os.waitpid(child, 0)
    out["mounted_by_forgery"] = any(l.split()[1] == mnt for l in open("/proc/self/mounts"))

    # The real command, as the user.
    p = subprocess.run(["runuser", "-u", "jfsuser", "--", jumpfs, "server3", mnt],
                       capture_output=True, text=True, timeout=60)
    out.update(rc=p.returncode, stderr=p.stderr)
    out["mounted"] = any(l.split()[1] == mnt for l in open("/proc/self/mounts"))
    out["listing"] = subprocess.run(["runuser", "-u", "jfsuser", "--", "ls", mnt],
                                    capture_output=True, text=True).stdout.split()
    out["servers"] = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if os.path.basename(argv[0]) == b"jumpfs" and mnt.encode() in argv:
            out["servers"].append(int(pid))
    subprocess.run(["runuser", "-u", "jfsuser", "--", "fusermount3", "-u", mnt])
    out["mounted_after"] = any(l.split()[1] == mnt for l in open("/proc/self/mounts"))
    subprocess.run(["umount", "-l", mnt], capture_output=True)
    print(json.dumps(out))
''')


def test_another_mount_namespace_is_served_in_its_own_process(lab, jumpfs_bin, mountpoints):
    import json
    first, other = mountpoints(2)
    jfs.mount_ok(jumpfs_bin, first)
    pid = daemon_pid()
    env_file = Path(tempfile.mkdtemp(prefix="jumpfs-env-")) / "environ"
    env_file.write_bytes(Path(f"/proc/{pid}/environ").read_bytes())
    before = lab.logins("jump1")
    proc = subprocess.run(["unshare", "--mount", "/usr/bin/python3", "-c", OTHER_NAMESPACE,
                           str(jumpfs_bin), str(other), str(control_socket()), str(env_file),
                           str(pid)],
                          capture_output=True, text=True, timeout=120, env=jfs._env(None))
    env_file.unlink()
    env_file.parent.rmdir()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seen = json.loads(proc.stdout)
    # The forgeries mount nothing: "not for me" in both protocols.
    assert seen["old"] == "2", seen
    assert seen["no_fd"] == ["R", "2", "no root directory sent"], seen
    assert seen["own_root"] == ["R", "2", "the client's root is on another mount "
                                "(another mount namespace)"], seen
    assert not seen["mounted_by_forgery"], seen
    # The real command is served there, by a process of its own.
    assert seen["rc"] == 0, seen
    assert seen["mounted"] and "hello.txt" in seen["listing"], seen
    assert len(seen["servers"]) == 1 and seen["servers"][0] != pid, seen
    assert not seen["mounted_after"], seen
    # Not in the daemon's namespace, and with logins of its own.
    assert not labmod.is_mounted(other)
    assert daemon_pid() == pid
    assert lab.logins("jump1") == before + 1
    jfs.unmount(first)


# --- questions go to the command that asked ---------------------------------

J1_HOME = f"{labmod.JUMP1.user}@{labmod.JUMP1.fqdn}:"  # one hop: jump1 only
PASSWORD = "jfs-lab-password"  # what `scripts/lab password HOST on` sets
J2_PROMPT = "user2@jumphost2.whatever.org's password (hop 2/3): "


def sshd_log(host):
    return (labmod.STATE_DIR / host / "sshd.log").read_text(errors="replace")


def password_logins(host, user, outcome="Accepted"):
    return sshd_log(host).count(f"{outcome} password for {user} from")


def daemon_for_jump1(jumpfs_bin, anchor):
    """The user's daemon, with a mount that uses jump1 only: a later server3
    mount logs into jump2 and the backend anew, in the daemon."""
    jfs.mount_ok(jumpfs_bin, anchor, J1_HOME)
    pid = daemon_pid()
    assert pid is not None
    return pid


def served_by_daemon(mnt, pid):
    return labmod.is_mounted(mnt) and jfs.jumpfs_pids(mnt) == [] and daemon_pid() == pid


def test_a_password_is_asked_on_the_terminal_of_the_command(lab, jumpfs_bin, mountpoints):
    from test_auth import run_on_a_terminal
    lab.run("password", "jump2", "on")
    anchor, mnt = mountpoints(2)
    pid = daemon_for_jump1(jumpfs_bin, anchor)
    accepted = password_logins("jump2", labmod.JUMP2.user)
    # A wrong password first: the daemon's "try again" reaches this
    # terminal too, then the same prompt again.
    status, shown = run_on_a_terminal(
        ["runuser", "-u", labmod.JFS_USER, "--", str(jumpfs_bin), labmod.SERVER3, str(mnt)],
        [(J2_PROMPT, "wrong-password"), (J2_PROMPT, PASSWORD)])
    assert status == 0, shown
    assert shown.count(J2_PROMPT) == 2, shown
    assert "Permission denied, please try again." in shown
    assert PASSWORD not in shown and "wrong-password" not in shown  # no echo
    assert served_by_daemon(mnt, pid)
    assert password_logins("jump2", labmod.JUMP2.user) == accepted + 1
    assert "hello.txt" in jfs.sh(f"ls {mnt}").split()

    # Later the command is gone: a reconnect has nobody to ask and refuses
    # at once, without trying any password.
    failed = password_logins("jump2", labmod.JUMP2.user, "Failed")
    lab.kill_sessions("jump2")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        proc = labmod.as_user(["ls", str(mnt)])
        if proc.returncode != 0 and "Transport endpoint" not in proc.stderr:
            break
        time.sleep(0.3)
    assert proc.returncode != 0, proc.stdout
    assert password_logins("jump2", labmod.JUMP2.user, "Failed") == failed
    assert password_logins("jump2", labmod.JUMP2.user) == accepted + 1
    jfs.unmount(mnt)
    jfs.unmount(anchor)


def askpass_program(directory, answer):
    log = directory / "askpass.log"
    script = directory / "askpass"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$1\" >> {log}\nprintf '%s\\n' '{answer}'\n")
    script.chmod(0o755)
    return script, log


def test_the_commands_own_askpass_answers(lab, jumpfs_bin, mountpoints):
    lab.run("password", "jump2", "on")
    anchor, mnt, scratch = mountpoints(3)
    pid = daemon_for_jump1(jumpfs_bin, anchor)  # started without SSH_ASKPASS
    askpass, log = askpass_program(scratch, PASSWORD)
    proc = labmod.as_user(["setsid", "-w", str(jumpfs_bin), labmod.SERVER3, str(mnt)],
                          env=jfs._env({"SSH_ASKPASS": str(askpass)}))
    assert proc.returncode == 0, proc.stderr
    labmod.wait_for_mount(mnt)
    assert served_by_daemon(mnt, pid)
    assert log.read_text().splitlines() == [J2_PROMPT], log.read_text()
    jfs.unmount(mnt)
    jfs.unmount(anchor)
    log.unlink()
    askpass.unlink()


def test_a_command_with_nobody_to_ask_fails_naming_the_hop(lab, jumpfs_bin, mountpoints):
    lab.run("password", "jump2", "on")
    anchor, mnt = mountpoints(2)
    pid = daemon_for_jump1(jumpfs_bin, anchor)
    proc = labmod.as_user(["setsid", "-w", str(jumpfs_bin), labmod.SERVER3, str(mnt)],
                          env=jfs._env(None))
    assert proc.returncode == 1
    assert "hop 2/3 (user2@jumphost2.whatever.org:2222)" in proc.stderr, proc.stderr
    assert "no terminal" in proc.stderr, proc.stderr
    assert not labmod.is_mounted(mnt) and daemon_pid() == pid
    jfs.unmount(anchor)


def test_an_unknown_host_key_is_asked_on_the_terminal_of_the_command(
        lab, jumpfs_bin, mountpoints):
    from test_auth import run_on_a_terminal
    anchor, mnt, scratch = mountpoints(3)
    pid = daemon_for_jump1(jumpfs_bin, anchor)
    # known_hosts without jump2's key (the lab's is the only hashed line).
    known = scratch / "known_hosts"
    lines = (Path(f"/home/{labmod.JFS_USER}/.ssh/known_hosts").read_text().splitlines())
    known.write_text("".join(l + "\n" for l in lines if not l.startswith("|1|")))
    config = scratch / "config"
    config.write_text(f"Host server3\n  HostName {labmod.BACKEND.addr}\n"
                      f"  User {labmod.BACKEND.user}\n  ProxyJump {labmod.PROXYJUMP_2HOPS}\n"
                      f"Host *\n  UserKnownHostsFile {known}\n")
    pw = pwd.getpwnam(labmod.JFS_USER)
    for f in (known, config):
        os.chown(f, pw.pw_uid, pw.pw_gid)
        f.chmod(0o644)
    question = "Are you sure you want to continue connecting (yes/no/[fingerprint])? "
    status, shown = run_on_a_terminal(
        ["runuser", "-u", labmod.JFS_USER, "--", str(jumpfs_bin), "-F", str(config),
         labmod.SERVER3, str(mnt)], [(question, "yes")])
    assert status == 0, shown
    assert ("hop 2/3 (user2@jumphost2.whatever.org:2222):\r\nThe authenticity "
            "of host '[jumphost2.whatever.org]:2222' can't be established.\r\n") in shown, shown
    assert "key fingerprint is SHA256:" in shown, shown
    assert served_by_daemon(mnt, pid)
    assert len(known.read_text().splitlines()) == len(lines)  # recorded by the daemon
    jfs.unmount(mnt)
    jfs.unmount(anchor)
    known.unlink()
    config.unlink()
