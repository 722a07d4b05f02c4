"""Host keys at hop 2 (jump2, port 2222), decided by jumpfs as OpenSSH
decides them: a differential matrix against `ssh -o BatchMode=yes server3
true`, and the `ask` prompt on a pseudo-terminal.

Each case writes jfsuser's ~/.ssh/known_hosts (jump1 and the backend as the
lab has them, jump2 as the case says) and a `Host jumphost2.whatever.org`
block in ~/.ssh/config; then ssh and `jumpfs --check server3` run from the
same files (restored in between), without a terminal. They must agree on
accept or refuse, and jumpfs must add nothing to known_hosts that ssh does
not add. Deliberate differences are marked: jumpfs refuses a changed or
revoked key even under StrictHostKeyChecking no, and a host known only
through @cert-authority (libssh 0.10 cannot take host certificates).
jfsuser's known_hosts and config are put back by the lab's restore after
every test (pass or fail); the other files a case writes are removed here.
"""

import base64
import hashlib
import hmac
import os
import pty
import pwd
import re
import select
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import lab as labmod

HOME = Path("/home") / labmod.JFS_USER
SSH_DIR = HOME / ".ssh"
KNOWN_HOSTS = SSH_DIR / "known_hosts"
CONFIG = SSH_DIR / "config"
J2_NAME = "[jumphost2.whatever.org]:2222"
J2_PLAIN = "jumphost2.whatever.org"
FINGERPRINT = r"SHA256:[A-Za-z0-9+/]{43}"
# Files a case may add under ~/.ssh (removed after each test).
EXTRA_FILES = ("known_hosts2", "known_hosts.global", "revoked", "revoked.krl",
               "kh-command", "known_hosts.old")


def host_pub(host):
    text = (labmod.STATE_DIR / host / "ssh_host_ed25519_key.pub").read_text()
    return " ".join(text.split()[:2])


def hash_name(name):
    salt = os.urandom(20)
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def hashed_matches(field, name):
    if not field.startswith("|1|") or field.count("|") != 3:
        return False
    salt64, hash64 = field[3:].split("|")
    try:
        salt = base64.b64decode(salt64, validate=True)
    except ValueError:
        return False
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode() == hash64


@pytest.fixture(scope="module")
def keys():
    """Host keys of the lab (J1, J2, BE) and others no host has (X, XEC, CA)."""
    out = {"J1": host_pub("jump1"), "J2": host_pub("jump2"), "BE": host_pub("backend")}
    with tempfile.TemporaryDirectory() as tmp:
        for name, kind in (("X", "ed25519"), ("XEC", "ecdsa"), ("CA", "ed25519")):
            path = Path(tmp) / name
            subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "", "-f", str(path)],
                           check=True)
            out[name] = " ".join(path.with_suffix(".pub").read_text().split()[:2])
        # An OpenSSH KRL revoking jump2's key.
        pub = Path(tmp) / "j2.pub"
        pub.write_text(out["J2"] + "\n")
        krl = Path(tmp) / "j2.krl"
        subprocess.run(["ssh-keygen", "-q", "-k", "-f", str(krl), str(pub)], check=True)
        out["KRL"] = krl.read_bytes()
    return out


def put(path, data, mode=0o600):
    pw = pwd.getpwnam(labmod.JFS_USER)
    path = Path(path)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    os.chown(path, pw.pw_uid, pw.pw_gid)
    path.chmod(mode)


@pytest.fixture
def ssh_files(lab):
    """Restores what the lab does not: every extra file a case wrote."""
    original_config = CONFIG.read_text()
    yield original_config
    for name in EXTRA_FILES:
        (SSH_DIR / name).unlink(missing_ok=True)
    # known_hosts and config: the lab's restore (autouse fixture) rewrites them.


def run_quiet(cmd, timeout=60):
    """cmd as jfsuser with no terminal at all (its own session), so that an
    `ask` finds nobody to ask, for ssh's jump-host child as for jumpfs."""
    env = dict(os.environ)
    env.pop("SSH_AUTH_SOCK", None)
    env.pop("SSH_ASKPASS", None)
    env.pop("DISPLAY", None)
    return subprocess.run(["runuser", "-u", labmod.JFS_USER, "--", *map(str, cmd)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout, env=env, start_new_session=True)


def entries(text):
    """Meaningful known_hosts lines: (host field, key text)."""
    out = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3 and not line.lstrip().startswith("#"):
            out.append((fields[0], " ".join(fields[1:3])))
    return out


def same_entry(a, b, names):
    """Two (host field, key) lines that say the same: the same key, for the
    same name, hashed or not (a hash's salt is random)."""
    if a[1] != b[1]:
        return False
    if a[0].startswith("|1|") or b[0].startswith("|1|"):
        return (a[0].startswith("|1|") and b[0].startswith("|1|") and
                any(hashed_matches(a[0], n) and hashed_matches(b[0], n) for n in names))
    return a[0] == b[0]


@dataclass
class Case:
    name: str
    j2: str                    # jump2's lines in known_hosts ({J2} {X} ... {N} {P})
    config: str = ""           # the Host jumphost2.whatever.org block
    files: tuple = ()          # (name under ~/.ssh, text or "KRL", mode)
    accept: bool = True        # what both decide
    ssh_accepts: bool = None   # where ssh deliberately differs
    writes: bool = False       # both add one line for jump2
    failed: str = ""           # in jumpfs's FAILED line
    decided: str = ""          # in jumpfs's "decided" line for hop 2
    keyed: bool = True         # hop 2 got as far as the server's key
    ssh_says: str = ""         # in ssh's stderr: it refused for that reason


CASES = [
    # The lookup forms for port 2222
    Case("port-form", "{N} {J2}\n", decided=":2  (as [jumphost2.whatever.org]:2222)"),
    Case("port-form-hashed", "{HN} {J2}\n", decided=":2 (hashed)"),
    Case("plain-name", "{P} {J2}\n", decided="(the name without the port)"),
    Case("plain-name-hashed", "{HP} {J2}\n", decided="(the name without the port)"),
    Case("other-port", "[jumphost2.whatever.org]:22 {J2}\n", accept=False,
         failed="nobody to ask"),
    Case("pattern-port", "[*.whatever.org]:2222 {J2}\n"),
    # Every StrictHostKeyChecking value, known and unknown
    Case("ask-known", "{N} {J2}\n", "StrictHostKeyChecking ask"),
    Case("yes-known", "{HN} {J2}\n", "StrictHostKeyChecking yes"),
    Case("no-known", "{N} {J2}\n", "StrictHostKeyChecking no"),
    Case("ask-unknown", "", accept=False, failed="nobody to ask"),
    Case("yes-unknown", "", "StrictHostKeyChecking yes", accept=False,
         failed="StrictHostKeyChecking is yes", ssh_says="you have requested strict checking"),
    Case("accept-new-unknown", "", "StrictHostKeyChecking accept-new", writes=True),
    Case("accept-new-unhashed", "", "StrictHostKeyChecking accept-new\nHashKnownHosts no",
         writes=True),
    Case("no-unknown", "", "StrictHostKeyChecking no", writes=True),
    Case("accept-new-other-key-plain-name", "{P} {X}\n", "StrictHostKeyChecking accept-new",
         writes=True),
    # Changed keys
    Case("ask-changed", "{N} {X}\n", accept=False, failed="HOST KEY CHANGED", ssh_says="REMOTE HOST IDENTIFICATION HAS CHANGED"),
    Case("accept-new-changed", "{HN} {X}\n", "StrictHostKeyChecking accept-new",
         accept=False, failed="HOST KEY CHANGED"),
    Case("accept-new-changed-other-type", "{N} {XEC}\n", "StrictHostKeyChecking accept-new",
         accept=False, failed="HOST KEY CHANGED"),
    # At a jump host ssh refuses too: its -W forwarding is cancelled with
    # the key not trusted, and -W exits on that. (The target: below.)
    Case("no-changed", "{N} {X}\n", "StrictHostKeyChecking no", accept=False,
         failed="even with StrictHostKeyChecking no", ssh_says="REMOTE HOST IDENTIFICATION HAS CHANGED"),
    # UserKnownHostsFile none: read-only; nowhere to record a new key.
    Case("known-hosts-none-accept-new", "", "UserKnownHostsFile none\nStrictHostKeyChecking accept-new",
         accept=False, failed="with UserKnownHostsFile none a new key cannot be recorded"),
    # Revoked keys. ssh 9.2 expands no ~ in RevokedHostKeys (9.3 began to),
    # nor does jumpfs: "~/..." cannot be read, and both refuse.
    Case("revoked-file-tilde", "{N} {J2}\n", "RevokedHostKeys ~/.ssh/revoked",
         files=(("revoked", "{X}\n", 0o644),), accept=False,
         failed="cannot read RevokedHostKeys ~/.ssh/revoked"),
    Case("revoked-marker", "@revoked * {J2}\n{N} {J2}\n", accept=False,
         failed="marked @revoked", ssh_says="REVOKED HOST KEY DETECTED"),
    Case("revoked-marker-accept-new", "@revoked {N} {J2}\n",
         "StrictHostKeyChecking accept-new", accept=False, failed="marked @revoked"),
    Case("revoked-marker-no", "@revoked * {J2}\n{N} {J2}\n", "StrictHostKeyChecking no",
         accept=False, failed="marked @revoked"),
    Case("revoked-other-key", "@revoked * {X}\n{N} {J2}\n"),
    Case("revoked-file", "{N} {J2}\n", "RevokedHostKeys /home/jfsuser/.ssh/revoked\nStrictHostKeyChecking no",
         files=(("revoked", "{X}\n{J2}\n", 0o644),), accept=False,
         failed="revoked by RevokedHostKeys /home/jfsuser/.ssh/revoked (line 2)", ssh_says="revoked by file /home/jfsuser/.ssh/revoked"),
    Case("revoked-krl", "{N} {J2}\n", "RevokedHostKeys /home/jfsuser/.ssh/revoked.krl",
         files=(("revoked.krl", "KRL", 0o644),), accept=False,
         failed="KRL: explicit key", ssh_says="revoked by file /home/jfsuser/.ssh/revoked.krl"),
    Case("revoked-file-other", "{N} {J2}\n", "RevokedHostKeys /home/jfsuser/.ssh/revoked",
         files=(("revoked", "{X}\n", 0o644),)),
    Case("revoked-file-missing", "{N} {J2}\n", "RevokedHostKeys /home/jfsuser/.ssh/revoked",
         accept=False, failed="cannot read RevokedHostKeys", ssh_says="No such file or directory"),
    Case("revoked-file-bad-line", "{N} {J2}\n", "RevokedHostKeys /home/jfsuser/.ssh/revoked",
         files=(("revoked", "{X}\nnot a key\n", 0o644),), accept=False,
         failed="line 2: not a public key", ssh_says="Error checking host key"),
    # @cert-authority only: never "unknown" (and under accept-new, where
    # ssh would record the plain key, jumpfs still refuses).
    Case("ca-only", "@cert-authority *.whatever.org {CA}\n", accept=False,
         failed="known only through the @cert-authority line"),
    Case("ca-only-accept-new", "@cert-authority *.whatever.org {CA}\n",
         "StrictHostKeyChecking accept-new", accept=False, ssh_accepts=True,
         failed="libssh 0.10 cannot take host certificates"),
    Case("ca-and-key", "@cert-authority *.whatever.org {CA}\n{N} {J2}\n"),
    # HostKeyAlias: that name only
    Case("alias", "j2alias {J2}\n", "HostKeyAlias j2alias", decided="(as j2alias)"),
    Case("alias-not-host-name", "{N} {J2}\n{P} {J2}\n",
         "HostKeyAlias j2alias\nStrictHostKeyChecking yes", accept=False,
         failed="known for j2alias"),
    Case("alias-accept-new", "", "HostKeyAlias J2Alias\nStrictHostKeyChecking accept-new",
         writes=True),
    # Negation, unreadable and overlong lines
    Case("negated", "[*.whatever.org]:2222,!{N} {J2}\n", "StrictHostKeyChecking yes",
         accept=False),
    Case("negated-then-line", "*,!{N} {X}\n{N} {J2}\n"),
    Case("bad-base64-then-line", "{N} ssh-ed25519 AAAA!!!!\n{HN} {J2}\n",
         decided=":3 (hashed)"),
    Case("bad-base64-then-pin", "{N} ssh-ed25519 AAAA!!!!\n{N} {X}\n",
         "StrictHostKeyChecking accept-new", accept=False, failed="HOST KEY CHANGED", ssh_says="REMOTE HOST IDENTIFICATION HAS CHANGED"),
    Case("unknown-type-then-line", "{N} ssh-foo AAAAC3NzaC1lZDI1NTE5\n{N} {J2}\n"),
    Case("overlong-lines", "x " + "y" * 40000 + " {X}\n{N} {J2} " + "c" * 20000 + "\n"),
    # Other files and sources
    Case("known-hosts2", "", files=(("known_hosts2", "{N} {J2}\n", 0o600),),
         decided="known_hosts2:1"),
    Case("global-file", "", "GlobalKnownHostsFile ~/.ssh/known_hosts.global",
         files=(("known_hosts.global", "{HN} {J2}\n", 0o644),),
         decided="known_hosts.global:1"),
    Case("command", "", "KnownHostsCommand /home/jfsuser/.ssh/kh-command %H %I",
         files=(("kh-command", "#!/bin/sh\n[ \"$2\" = HOSTNAME ] || exit 0\n"
                 "echo \"$1 {J2}\"\n", 0o755),), decided="KnownHostsCommand:1"),
    Case("command-other-key", "", "KnownHostsCommand /home/jfsuser/.ssh/kh-command",
         files=(("kh-command", "#!/bin/sh\necho '{N} {X}'\n", 0o755),), accept=False,
         failed="HOST KEY CHANGED"),
    Case("command-fails", "{N} {J2}\n", "KnownHostsCommand /home/jfsuser/.ssh/kh-command",
         files=(("kh-command", "#!/bin/sh\nexit 1\n", 0o755),), accept=False,
         failed="exited with status 1", keyed=False, ssh_says="KnownHostsCommand failed"),
    # UpdateHostKeys: accepted, no effect (jumpfs never rewrites the file).
    Case("update-host-keys", "{N} {J2}\n{N} {XEC}\n", "UpdateHostKeys yes"),
]


def fill(text, keys):
    return (text.replace("{N}", J2_NAME).replace("{P}", J2_PLAIN)
            .replace("{HN}", hash_name(J2_NAME)).replace("{HP}", hash_name(J2_PLAIN))
            .replace("{J2}", keys["J2"]).replace("{X}", keys["X"])
            .replace("{XEC}", keys["XEC"]).replace("{CA}", keys["CA"]))


def write_case(case, keys, base_config):
    j2 = fill(case.j2, keys)
    known = f"{labmod.JUMP1.fqdn} {keys['J1']}\n{j2}{labmod.BACKEND.addr} {keys['BE']}\n"
    put(KNOWN_HOSTS, known)
    block = "".join(f"    {line}\n" for line in case.config.splitlines())
    put(CONFIG, f"{base_config}Host {J2_PLAIN}\n{block}")
    for name, text, mode in case.files:
        put(SSH_DIR / name, keys["KRL"] if text == "KRL" else fill(text, keys), mode)
    return known


def hop2_block(stdout):
    lines, inside = [], False
    for line in stdout.splitlines():
        if line.startswith("hop "):
            inside = line.startswith("hop 2/3")
        if inside:
            lines.append(line.strip())
    return lines


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hop2_matrix(lab, jumpfs_bin, ssh_files, keys, case, sanitized):
    known = write_case(case, keys, ssh_files)
    # The oracle's verdict does not depend on jumpfs's build: the sanitized
    # run checks jumpfs against the case's expectations only.
    if not sanitized:
        ssh = run_quiet(["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "server3",
                         "true"])
        after_ssh = KNOWN_HOSTS.read_text()

    write_case(case, keys, ssh_files)
    known = KNOWN_HOSTS.read_text()
    jfs = run_quiet([jumpfs_bin, "--check", "server3"])
    after_jfs = KNOWN_HOSTS.read_text()
    if sanitized:
        ssh = subprocess.CompletedProcess([], 0 if case.accept else 255, "", "")
        after_ssh = None
    report = f"ssh exit {ssh.returncode}: {ssh.stderr}\njumpfs:\n{jfs.stdout}{jfs.stderr}"

    assert (jfs.returncode == 0) == case.accept, report
    if not sanitized:
        ssh_accepts = case.accept if case.ssh_accepts is None else case.ssh_accepts
        assert (ssh.returncode == 0) == ssh_accepts, report
        assert case.ssh_says in ssh.stderr, report
    hop2 = "\n".join(hop2_block(jfs.stdout))
    if case.keyed:
        assert re.search(rf"host key  ssh-ed25519 {FINGERPRINT}", hop2), report
    if case.accept:
        assert jfs.stdout.rstrip().endswith("chain OK"), report
    else:
        failed = [line for line in hop2_block(jfs.stdout) if line.startswith("FAILED")]
        assert len(failed) == 1 and "hop 2/3" in failed[0], report
        assert case.failed in failed[0], report
        hint = next((line for line in hop2_block(jfs.stdout) if line.startswith("hint")), "")
        # Never an invitation to weaken the check.
        for text in (failed[0], hint, jfs.stderr):
            assert "accept-new" not in text.replace("StrictHostKeyChecking accept-new", "")
            assert "=no" not in text
    if case.decided:
        decided = [line for line in hop2_block(jfs.stdout) if line.startswith("decided")]
        assert decided and case.decided in decided[0], report

    # jumpfs only appends, and only what ssh added too.
    assert after_jfs.startswith(known), report
    added_jfs = entries(after_jfs[len(known):])
    if sanitized:
        added_ssh = added_jfs[:1] if case.writes else []
    else:
        added_ssh = [e for e in entries(after_ssh) if e not in entries(known)]
    names = [J2_NAME, J2_PLAIN, "j2alias"]
    for entry in added_jfs:
        assert any(same_entry(entry, other, names) for other in added_ssh), \
            (entry, added_ssh, report)
    if case.writes:
        assert len(added_jfs) == 1 and len(added_ssh) == 1, (added_jfs, added_ssh)
        hashed = "HashKnownHosts no" not in case.config
        assert added_jfs[0][0].startswith("|1|") == hashed, added_jfs
    else:
        assert added_jfs == [], added_jfs


# --- the deliberate difference, at the target -----------------------------------

@pytest.mark.parametrize("line", ["{BE_ADDR} {X}\n", "@revoked * {BE}\n{BE_ADDR} {BE}\n"],
                         ids=["changed", "revoked"])
def test_target_changed_or_revoked_under_no(lab, jumpfs_bin, ssh_files, keys, line):
    """ssh connects to a target whose key changed (or is revoked) under
    StrictHostKeyChecking no, with passwords off; jumpfs refuses."""
    backend = (line.replace("{BE_ADDR}", labmod.BACKEND.addr).replace("{X}", keys["X"])
               .replace("{BE}", keys["BE"]))
    known = (f"{labmod.JUMP1.fqdn} {keys['J1']}\n{J2_NAME} {keys['J2']}\n{backend}")
    put(KNOWN_HOSTS, known)
    put(CONFIG, f"Host server3\n    StrictHostKeyChecking no\n{ssh_files}")
    ssh = run_quiet(["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "server3", "true"])
    assert ssh.returncode == 0, ssh.stderr
    assert "disabled to avoid man-in-the-middle attacks" in ssh.stderr, ssh.stderr
    put(KNOWN_HOSTS, known)
    jfs = run_quiet([jumpfs_bin, "--check", "server3"])
    assert jfs.returncode != 0, jfs.stdout
    failed = [l.strip() for l in jfs.stdout.splitlines() if l.strip().startswith("FAILED")]
    assert len(failed) == 1 and "hop 3/3" in failed[0], jfs.stdout
    assert ("even with StrictHostKeyChecking no" in failed[0] or
            "under every StrictHostKeyChecking setting" in failed[0]), failed
    assert KNOWN_HOSTS.read_text() == known


# --- the ask prompt on a terminal ---------------------------------------------

def run_on_pty(cmd, answers, timeout=30):
    """cmd as jfsuser on a new pseudo-terminal (its controlling terminal).
    Each answer is typed once its prompt (a regex) has appeared. Returns
    (exit status, everything shown)."""
    master, slave = pty.openpty()
    pw = pwd.getpwnam(labmod.JFS_USER)
    os.fchown(slave, pw.pw_uid, pw.pw_gid)
    env = dict(os.environ)
    for name in ("SSH_AUTH_SOCK", "SSH_ASKPASS", "DISPLAY"):
        env.pop(name, None)

    def take_terminal():
        os.setsid()
        import fcntl
        import termios
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(["runuser", "-u", labmod.JFS_USER, "--", *map(str, cmd)],
                            stdin=slave, stdout=slave, stderr=slave, env=env,
                            preexec_fn=take_terminal)
    os.close(slave)
    shown = b""
    pending = list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every writer has gone
                    break
                if not data:
                    break
                shown += data
            if pending and re.search(pending[0][0].encode(), shown):
                prompt, answer = pending.pop(0)
                shown += b"<<" + answer.encode() + b">>"
                os.write(master, answer.encode() + b"\r")
            if proc.poll() is not None and not ready:
                break
        proc.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert not pending, f"never asked {pending}:\n{shown.decode(errors='replace')}"
    return proc.returncode, shown.decode(errors="replace")


ASKED = r"The authenticity of host '\[jumphost2\.whatever\.org\]:2222' can't be established\.\r?\n" \
        rf"ED25519 key fingerprint is {FINGERPRINT}\.\r?\n" \
        r"Are you sure you want to continue connecting \(yes/no/\[fingerprint\]\)\? "


def j2_fingerprint():
    pub = labmod.STATE_DIR / "jump2" / "ssh_host_ed25519_key.pub"
    return subprocess.run(["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True,
                          check=True).stdout.split()[1]


def ask_setup(keys, base_config):
    case = Case("ask", "")
    return write_case(case, keys, base_config)


def test_ask_yes_records_the_key(lab, jumpfs_bin, ssh_files, keys):
    known = ask_setup(keys, ssh_files)
    status, shown = run_on_pty([jumpfs_bin, "--check", "server3"], [(ASKED, "yes")])
    assert status == 0, shown
    assert "hop 2/3 (user2@jumphost2.whatever.org:2222):\r\nThe authenticity" in shown, shown
    assert j2_fingerprint() in shown
    after = KNOWN_HOSTS.read_text()
    assert after.startswith(known)
    added = entries(after[len(known):])
    assert len(added) == 1 and added[0][1] == keys["J2"], after
    assert hashed_matches(added[0][0], J2_NAME), added  # Debian: HashKnownHosts yes
    assert "chain OK" in shown


def test_ask_no_refuses(lab, jumpfs_bin, ssh_files, keys):
    known = ask_setup(keys, ssh_files)
    status, shown = run_on_pty([jumpfs_bin, "--check", "server3"], [(ASKED, "no")])
    assert status != 0, shown
    assert "not accepted" in shown and "chain BROKEN" in shown, shown
    assert KNOWN_HOSTS.read_text() == known


def test_ask_typed_fingerprint_is_compared(lab, jumpfs_bin, ssh_files, keys):
    known = ask_setup(keys, ssh_files)
    right = j2_fingerprint()
    wrong = right[:-1] + ("A" if right[-1] != "A" else "B")
    again = r"Please type 'yes', 'no' or the fingerprint: "
    status, shown = run_on_pty([jumpfs_bin, "--check", "server3"],
                               [(ASKED, wrong), (again, right)])
    assert status == 0, shown
    added = entries(KNOWN_HOSTS.read_text()[len(known):])
    assert len(added) == 1 and added[0][1] == keys["J2"], added
