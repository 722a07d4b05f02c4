"""Passwords, keyboard-interactive and key passphrases at any hop: where
they come from (-o password_stdin[=HOP], SSH_ASKPASS without a terminal),
that every prompt names its hop, that BatchMode never asks, that
PreferredAuthentications and NumberOfPasswordPrompts are honoured, that
gssapi-with-mic without a ticket costs nothing, and that failures name the
hop and the user.

Every jumpfs here runs under `setsid`, without a controlling terminal, as
under fstab or systemd: nothing may be asked on the tester's terminal. And
with -o no_share: a shared daemon of the lab user (started by other tests)
would serve the mount with its own environment (no SSH_ASKPASS) and its
already logged-in hops, which is not what these tests are about."""

import os
import re
import subprocess
import time

import pytest

import jfs
import lab as labmod

PASSWORD = "jfs-lab-password"  # what `scripts/lab password HOST on|kbdint` sets
PASSPHRASE = "correct horse battery"
SERVER3_BLOCK = f"""Host server3
  HostName {labmod.BACKEND.addr}
  User {labmod.BACKEND.user}
  ProxyJump {labmod.PROXYJUMP_2HOPS}
"""


def sshd_log(host):
    return (labmod.STATE_DIR / host / "sshd.log").read_text(errors="replace")


def accepted(host, method, user):
    return sshd_log(host).count(f"Accepted {method} for {user} from")


def run_jumpfs(jumpfs_bin, *args, stdin_text=None, env=None, timeout=60):
    """jumpfs ARGS as the lab user, in a session without a terminal."""
    full_env = dict(os.environ)
    full_env.pop("SSH_AUTH_SOCK", None)
    full_env.pop("SSH_ASKPASS", None)
    full_env.pop("SSH_ASKPASS_REQUIRE", None)
    full_env.update(env or {})
    extra = {"stdin": None, "input": stdin_text} if stdin_text is not None else {}
    return labmod.as_user(["setsid", "-w", str(jumpfs_bin), *map(str, args), "-o", "no_share"],
                          timeout=timeout, env=full_env, **extra)


@pytest.fixture
def jfs_dir():
    """A directory of the lab user's (askpass, its log, keys, configs);
    pytest's tmp_path sits under a 0700 directory of root's."""
    import pwd
    import shutil
    import tempfile
    pw = pwd.getpwnam(labmod.JFS_USER)
    path = labmod.Path(tempfile.mkdtemp(prefix="jumpfs-auth-", dir="/tmp"))
    os.chown(path, pw.pw_uid, pw.pw_gid)
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def make_askpass(directory, answer):
    """An SSH_ASKPASS program: appends its prompt to askpass.log, prints answer."""
    log = directory / "askpass.log"
    script = directory / "askpass"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$1\" >> {log}\nprintf '%s\\n' '{answer}'\n")
    script.chmod(0o755)
    return script, log


def prompts(log):
    return log.read_text().splitlines() if log.exists() else []


def user_config(directory, extra):
    """A -F config: the seed's server3 and `extra` for every host."""
    config = directory / "config"
    config.write_text(SERVER3_BLOCK + "Host *\n" + extra)
    config.chmod(0o644)
    return config


J2 = f"{labmod.JUMP2.user}@{labmod.JUMP2.fqdn}:{labmod.JUMP2.port}"


def failed(host, method, user):
    return sshd_log(host).count(f"Failed {method} for {user} from")


@pytest.mark.parametrize("hop", [J2, labmod.JUMP2.fqdn])
def test_password_at_hop_2_from_stdin(lab, jumpfs_bin, mountpoint, hop):
    lab.run("password", "jump2", "on")
    before = accepted("jump2", "password", labmod.JUMP2.user)
    proc = run_jumpfs(jumpfs_bin, labmod.SERVER3, mountpoint, "-o", f"password_stdin={hop}",
                      stdin_text=PASSWORD + "\n")
    assert proc.returncode == 0, proc.stderr
    labmod.wait_for_mount(mountpoint)
    try:
        assert jfs.sh(f"cat {mountpoint}/hello.txt") == labmod.BACKEND_HELLO.read_text()
    finally:
        jfs.unmount(mountpoint)
    assert accepted("jump2", "password", labmod.JUMP2.user) == before + 1
    assert PASSWORD not in proc.stdout + proc.stderr


def test_wrong_password_names_the_hop_and_the_user(lab, jumpfs_bin, mountpoint):
    lab.run("password", "jump2", "on")
    proc = run_jumpfs(jumpfs_bin, labmod.SERVER3, mountpoint, "-o", f"password_stdin={J2}",
                      stdin_text="not-the-password\n")
    assert proc.returncode != 0
    message = proc.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert message.startswith("jumpfs: hop 2/3 (user2@jumphost2.whatever.org:2222): "
                              "authentication failed for user 'user2'"), message
    assert "password from stdin (rejected)" in message
    # No terminal and no SSH_ASKPASS: it says why it did not ask again.
    assert "no terminal" in message and "SSH_ASKPASS" in message
    assert "not-the-password" not in message
    assert not labmod.is_mounted(mountpoint)


def test_batchmode_never_asks_for_a_password(lab, jumpfs_bin, mountpoint, jfs_dir):
    lab.run("password", "jump2", "on")
    askpass, log = make_askpass(jfs_dir, PASSWORD)
    config = user_config(jfs_dir, "  BatchMode yes\n")
    proc = run_jumpfs(jumpfs_bin, labmod.SERVER3, mountpoint, "-F", config,
                      env={"SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force"})
    assert proc.returncode != 0
    message = proc.stderr.strip()
    assert "hop 2/3 (user2@jumphost2.whatever.org:2222)" in message, message
    assert "authentication failed for user 'user2'" in message
    assert "the server accepts: password" in message
    assert "BatchMode=yes" in message
    assert prompts(log) == []  # not even SSH_ASKPASS was run
    assert not labmod.is_mounted(mountpoint)


def test_keyboard_interactive_at_hop_2_through_askpass(lab, jumpfs_bin, mountpoint, jfs_dir):
    lab.run("password", "jump2", "kbdint")
    askpass, log = make_askpass(jfs_dir, PASSWORD)
    before = accepted("jump2", "keyboard-interactive/pam", labmod.JUMP2.user)
    proc = run_jumpfs(jumpfs_bin, labmod.SERVER3, mountpoint,
                      env={"SSH_ASKPASS": str(askpass)})
    assert proc.returncode == 0, proc.stderr
    labmod.wait_for_mount(mountpoint)
    try:
        assert "hello.txt" in jfs.sh(f"ls {mountpoint}").split()
    finally:
        jfs.unmount(mountpoint)
    assert prompts(log) == ["(user2@jumphost2.whatever.org, hop 2/3) Password: "]
    assert accepted("jump2", "keyboard-interactive/pam", labmod.JUMP2.user) == before + 1


def encrypted_copy_of_the_lab_key(directory):
    """The lab user's (authorized) key, re-encrypted with PASSPHRASE, without
    its .pub file (jumpfs reads the public half from the private file)."""
    key = directory / "id_encrypted"
    key.write_bytes((labmod.Path("/home") / labmod.JFS_USER / ".ssh" / "id_ed25519").read_bytes())
    import pwd
    pw = pwd.getpwnam(labmod.JFS_USER)
    os.chown(key, pw.pw_uid, pw.pw_gid)
    key.chmod(0o600)
    proc = labmod.as_user(["ssh-keygen", "-q", "-p", "-P", "", "-N", PASSPHRASE, "-f", key])
    assert proc.returncode == 0, proc.stderr
    assert b"aes256-ctr" in subprocess.run(
        ["base64", "-d"], input=b"".join(key.read_bytes().splitlines()[1:-1]),
        capture_output=True).stdout  # really encrypted
    return key


def test_encrypted_key_with_askpass_and_no_terminal(lab, jumpfs_bin, mountpoint, jfs_dir):
    key = encrypted_copy_of_the_lab_key(jfs_dir)
    askpass, log = make_askpass(jfs_dir, PASSPHRASE)
    config = user_config(jfs_dir, f"  IdentityFile {key}\n  IdentitiesOnly yes\n")
    proc = run_jumpfs(jumpfs_bin, labmod.SERVER3, mountpoint, "-F", config,
                      env={"SSH_ASKPASS": str(askpass)})
    assert proc.returncode == 0, proc.stderr
    labmod.wait_for_mount(mountpoint)
    try:
        assert "hello.txt" in jfs.sh(f"ls {mountpoint}").split()
    finally:
        jfs.unmount(mountpoint)
    # One question per hop (each hop decrypts the key for itself), each
    # naming its hop and user.
    assert prompts(log) == [
        f"Enter passphrase for key '{key}' (hop 1/3, user1@jumphost1.whatever.org): ",
        f"Enter passphrase for key '{key}' (hop 2/3, user2@jumphost2.whatever.org): ",
        f"Enter passphrase for key '{key}' (hop 3/3, anotherusername@10.77.3.2): ",
    ]


def test_encrypted_key_wrong_passphrase_fails_at_hop_1(lab, jumpfs_bin, mountpoint, jfs_dir):
    key = encrypted_copy_of_the_lab_key(jfs_dir)
    askpass, log = make_askpass(jfs_dir, "wrong passphrase")
    config = user_config(jfs_dir, f"  IdentityFile {key}\n  IdentitiesOnly yes\n")
    proc = run_jumpfs(jumpfs_bin, labmod.SERVER3, mountpoint, "-F", config,
                      env={"SSH_ASKPASS": str(askpass)})
    assert proc.returncode != 0
    assert "hop 1/3 (user1@jumphost1.whatever.org:22): authentication failed for user " \
           "'user1'" in proc.stderr
    assert f"{key} (bad passphrase)" in proc.stderr
    assert len(prompts(log)) == 3  # asked again, as ssh does, then gave up
    assert not labmod.is_mounted(mountpoint)


def test_debug_shows_each_step_and_never_the_password(lab, jumpfs_bin, mountpoint):
    lab.run("password", "jump2", "on")
    env = dict(os.environ)
    env.pop("SSH_AUTH_SOCK", None)
    proc = labmod.popen_as_user(["setsid", "-w", str(jumpfs_bin), labmod.SERVER3,
                                 str(mountpoint), "-d", "-o", f"password_stdin={J2}"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env)
    try:
        proc.stdin.write(PASSWORD + "\n")
        proc.stdin.close()
        labmod.wait_for_mount(mountpoint, timeout=30, proc=proc)
        jfs.sh(f"ls {mountpoint} >/dev/null")
    finally:
        labmod.cleanup_mount(mountpoint, [proc])
    err = proc.stderr.read()
    for hop in ("hop 1/3 (user1@jumphost1.whatever.org:22)",
                "hop 2/3 (user2@jumphost2.whatever.org:2222)",
                "hop 3/3 (anotherusername@10.77.3.2:22)"):
        steps = [line for line in err.splitlines() if line.startswith(f"jumpfs: debug: {hop}: ")]
        text = "\n".join(steps)
        assert "connecting" in text, err
        assert re.search(r"host key ssh-ed25519 SHA256:\S+ \(known\)", text), err
        assert "the server accepts" in text, err
        assert "authenticated with" in text, err
    assert "hop 2/3 (user2@jumphost2.whatever.org:2222): using the password from stdin" in err
    assert "authenticated with password (from stdin)" in err
    assert PASSWORD not in err


def run_on_a_terminal(command, answers, timeout=60):
    """Runs command on a new pseudo-terminal (its controlling terminal);
    each time the output ends with a prompt of answers (in order), types
    its answer. Returns (exit status, everything the terminal showed)."""
    import pty
    import select
    pid, master = pty.fork()
    if pid == 0:
        env = {k: v for k, v in os.environ.items()
               if k not in ("SSH_AUTH_SOCK", "SSH_ASKPASS", "SSH_ASKPASS_REQUIRE")}
        os.execvpe(command[0], command, env)
    shown, pending, answered_at = b"", list(answers), 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 4096)
                except OSError:  # EIO: every end of the terminal closed
                    break
                if not data:
                    break
                shown += data
            # Only a prompt shown after the last answer is a new question.
            fresh = shown[answered_at:]
            if pending and fresh.rstrip().endswith(pending[0][0].encode().rstrip()):
                os.write(master, (pending.pop(0)[1] + "\n").encode())
                answered_at = len(shown)
    finally:
        os.close(master)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


def test_password_prompt_on_the_terminal_names_the_hop(lab, jumpfs_bin, mountpoint):
    # A wrong password first: ssh's "try again", the same prompt, then the
    # right one. The terminal is the daemon's parent's; echo is off.
    lab.run("password", "jump2", "on")
    prompt = "user2@jumphost2.whatever.org's password (hop 2/3): "
    status, shown = run_on_a_terminal(
        ["runuser", "-u", labmod.JFS_USER, "--", str(jumpfs_bin), labmod.SERVER3,
         str(mountpoint), "-o", "no_share"],
        [(prompt, "wrong-password"), (prompt, PASSWORD)])
    try:
        assert status == 0, shown
        labmod.wait_for_mount(mountpoint)
        assert "hello.txt" in jfs.sh(f"ls {mountpoint}").split()
    finally:
        labmod.cleanup_mount(mountpoint)
    assert shown.count(prompt) == 2, shown
    assert "Permission denied, please try again." in shown
    assert PASSWORD not in shown and "wrong-password" not in shown  # no echo


def check_as_user(jumpfs_bin, *args, stdin_text=None, env=None):
    """jumpfs --check ARGS (-F config...) as the lab user, without a terminal."""
    return run_jumpfs(jumpfs_bin, "--check", *args, stdin_text=stdin_text, env=env)


def test_password_stdin_is_for_the_target_only(lab, jumpfs_bin, mountpoint):
    # jump2 wants a password; the stdin password is the target's: jump2
    # never sees it (no "Failed password" there), and the error says so.
    lab.run("password", "jump2", "on")
    before = failed("jump2", "password", labmod.JUMP2.user)
    proc = run_jumpfs(jumpfs_bin, labmod.SERVER3, mountpoint, "-o", "password_stdin",
                      stdin_text=PASSWORD + "\n")
    assert proc.returncode != 0
    assert "hop 2/3 (user2@jumphost2.whatever.org:2222): authentication failed" in proc.stderr
    assert "password (not asked)" in proc.stderr
    assert failed("jump2", "password", labmod.JUMP2.user) == before
    assert not labmod.is_mounted(mountpoint)


def test_password_stdin_answers_the_target(lab, jumpfs_bin):
    lab.run("password", "backend", "on")
    before = accepted("backend", "password", labmod.BACKEND.user)
    proc = check_as_user(jumpfs_bin, labmod.SERVER3, "-o", "password_stdin",
                         stdin_text=PASSWORD + "\n")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "auth      password (from stdin)" in proc.stdout
    assert accepted("backend", "password", labmod.BACKEND.user) == before + 1


def test_password_stdin_naming_no_hop_is_refused(lab, jumpfs_bin):
    proc = check_as_user(jumpfs_bin, labmod.SERVER3, "-o", "password_stdin=jump9.example",
                         stdin_text=PASSWORD + "\n")
    assert proc.returncode != 0
    assert ("-o password_stdin=jump9.example: no hop of the chain is jump9.example"
            in proc.stderr), proc.stderr
    assert "user2@jumphost2.whatever.org:2222" in proc.stderr  # lists the hops


def test_number_of_password_prompts_default(lab, jumpfs_bin, jfs_dir):
    # Always the wrong password: asked NumberOfPasswordPrompts (3) times,
    # and that many attempts reach sshd, no more.
    lab.run("password", "jump2", "on")
    askpass, log = make_askpass(jfs_dir, "wrong-password")
    before = failed("jump2", "password", labmod.JUMP2.user)
    proc = check_as_user(jumpfs_bin, labmod.SERVER3, env={"SSH_ASKPASS": str(askpass)})
    assert proc.returncode != 0
    assert prompts(log) == ["user2@jumphost2.whatever.org's password (hop 2/3): "] * 3
    assert failed("jump2", "password", labmod.JUMP2.user) == before + 3
    assert "tried: password (rejected), password (rejected), password (rejected)" \
        in proc.stdout, proc.stdout


HOSTILE_CHAIN = (f"{labmod.JUMP1.user}@{labmod.JUMP1.fqdn}:{labmod.JUMP1.port},"
                 f"{labmod.JUMP2.user}@{labmod.JUMP2.fqdn}:2223")
HOSTILE_TAG = "(user2@jumphost2.whatever.org, hop 2/3)"
RAW_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f\x80-\x9f\u2028\u2029\u202a-\u202e"
                          r"\u2066-\u2069]|\r(?!\n)")


def hostile_config(directory):
    """server3 with jump2's hostile sshd (lab kbdint-hostile) as hop 2, and
    a known_hosts that knows it (it has jump2's host key)."""
    ssh_dir = labmod.Path("/home") / labmod.JFS_USER / ".ssh"
    keys = subprocess.run(["ssh-keygen", "-F", f"[{labmod.JUMP2.fqdn}]:{labmod.JUMP2.port}",
                           "-f", ssh_dir / "known_hosts"], capture_output=True, text=True)
    jump2_key = next(line.split(None, 1)[1] for line in keys.stdout.splitlines()
                     if line and not line.startswith("#"))
    known = directory / "known_hosts"
    known.write_text((ssh_dir / "known_hosts").read_text() +
                     f"[{labmod.JUMP2.fqdn}]:2223 {jump2_key}\n")
    known.chmod(0o644)
    config = directory / "config"
    config.write_text(f"Host server3\n  HostName {labmod.BACKEND.addr}\n"
                      f"  User {labmod.BACKEND.user}\n  ProxyJump {HOSTILE_CHAIN}\n"
                      f"Host *\n  UserKnownHostsFile {known}\n")
    config.chmod(0o644)
    return config


def test_hostile_keyboard_interactive_text_on_a_terminal(lab, jumpfs_bin, mountpoint, jfs_dir):
    # Hop 2's PAM sends escapes that would clear the line, return to column
    # 0 and paint hop 1's prompt, retitle the terminal, ring, and reverse
    # the text. On the terminal every byte of it is shown escaped, after
    # hop 2's own tag, and the prompt the user answers is hop 2's.
    lab.run("kbdint-hostile", "on")
    config = hostile_config(jfs_dir)
    prompt = f"{HOSTILE_TAG} Password: "
    status, shown = run_on_a_terminal(
        ["runuser", "-u", labmod.JFS_USER, "--", str(jumpfs_bin), "-F", str(config),
         labmod.SERVER3, str(mountpoint), "-o", "no_share"], [(prompt, PASSWORD)])
    try:
        assert status == 0, shown
        labmod.wait_for_mount(mountpoint)
        assert "hello.txt" in jfs.sh(f"ls {mountpoint}").split()
    finally:
        labmod.cleanup_mount(mountpoint)
    assert not RAW_CONTROLS.search(shown), repr(shown)
    # Lines longer than the terminal continue on lines of jumpfs's own.
    lines = shown.replace("\r\n", "\n").replace("\n  ... ", "").splitlines()
    fake = [line for line in lines if "hop 1/3" in line]
    assert fake == [f"{HOSTILE_TAG} \\x1b[2K\\x0d(user1@jumphost1.whatever.org, hop 1/3) "
                    "Password: \\x1b]0;jumphost1.whatever.org\\x07\\x07\\x08\\x08\\u202egnirts"], \
        repr(shown)
    assert shown.count(prompt) == 1, repr(shown)


def test_hostile_keyboard_interactive_text_through_askpass(lab, jumpfs_bin, mountpoint, jfs_dir):
    # The same text as SSH_ASKPASS's argument: escaped, tagged, one question.
    lab.run("kbdint-hostile", "on")
    config = hostile_config(jfs_dir)
    askpass, log = make_askpass(jfs_dir, PASSWORD)
    proc = run_jumpfs(jumpfs_bin, "--check", "-F", config, labmod.SERVER3,
                      env={"SSH_ASKPASS": str(askpass)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    asked = log.read_text()
    assert not RAW_CONTROLS.search(asked), repr(asked)
    assert asked == (f"{HOSTILE_TAG} \\x1b[2K\\x0d(user1@jumphost1.whatever.org, hop 1/3) "
                     "Password: \\x1b]0;jumphost1.whatever.org\\x07\\x07\\x08\\x08\\u202egnirts\n"
                     f"{HOSTILE_TAG} Password: \n"), repr(asked)
