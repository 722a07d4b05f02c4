"""publickey as OpenSSH does it, through the lab as the lab user:
IdentityAgent (a path, none, SSH_AUTH_SOCK), IdentitiesOnly with an agent
holding two keys (an agent key is used when it matches an IdentityFile,
any other is never offered), and user certificates (CertificateFile, and
KEY-cert.pub beside a key) against sshds that trust the lab's user CA,
where the plain key is refused. Each case is also run with OpenSSH's ssh,
which must agree on accept or refuse."""

import os
import pwd
import re
import shutil
import signal
import subprocess
import time

import pytest

import lab as labmod
from test_auth import SERVER3_BLOCK, jfs_dir, run_jumpfs  # noqa: F401

SSH_DIR = labmod.Path("/home") / labmod.JFS_USER / ".ssh"
LAB_KEY = SSH_DIR / "id_ed25519"       # authorized on every hop
CERT_KEY = SSH_DIR / "id_lab_cert"     # authorized nowhere; its certificate is


def owned(path, mode):
    pw = pwd.getpwnam(labmod.JFS_USER)
    os.chown(path, pw.pw_uid, pw.pw_gid)
    path.chmod(mode)
    return path


def copy_key(src, dest, private=True, public=True, cert=False):
    if private:
        shutil.copyfile(src, dest)
        owned(dest, 0o600)
    if public:
        shutil.copyfile(f"{src}.pub", f"{dest}.pub")
        owned(labmod.Path(f"{dest}.pub"), 0o644)
    if cert:
        shutil.copyfile(f"{src}-cert.pub", f"{dest}-cert.pub")
        owned(labmod.Path(f"{dest}-cert.pub"), 0o644)
    return dest


def fingerprint(pub):
    out = subprocess.run(["ssh-keygen", "-l", "-f", str(pub)], capture_output=True,
                         text=True, check=True).stdout
    return out.split()[1]


@pytest.fixture
def other_key(jfs_dir):
    """A key of the lab user's that no hop authorizes."""
    key = jfs_dir / "id_other"
    proc = labmod.as_user(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "other",
                           "-f", key])
    assert proc.returncode == 0, proc.stderr
    return key


@pytest.fixture
def agent(jfs_dir):
    """An ssh-agent of the lab user's; yields (socket, add(key))."""
    sock = jfs_dir / "agent.sock"
    proc = labmod.popen_as_user(["ssh-agent", "-D", "-a", sock], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if sock.exists():
                break
            time.sleep(0.02)
        assert sock.exists(), "ssh-agent did not start"

        def add(key):
            added = labmod.as_user(["ssh-add", "-q", key], env={**os.environ,
                                                                "SSH_AUTH_SOCK": str(sock)})
            assert added.returncode == 0, added.stderr
        yield sock, add
    finally:
        # The agent itself: runuser, told to stop, waits 2 s for its child.
        try:
            children = labmod.Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text()
        except OSError:
            children = ""
        for pid in children.split():
            os.kill(int(pid), signal.SIGTERM)
        if not children.split():
            proc.terminate()
        proc.wait(timeout=10)


def config_file(directory, extra):
    config = directory / "config"
    config.write_text(SERVER3_BLOCK + "Host *\n" + extra)
    owned(config, 0o644)
    return config


def both(jumpfs_bin, config, env=None):
    """(jumpfs --check, ssh -o BatchMode=yes ... true) with config; the
    agent only through env (SSH_AUTH_SOCK) or the config."""
    env = env or {}
    check = run_jumpfs(jumpfs_bin, "--check", "-F", config, labmod.SERVER3, env=env)
    full_env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    full_env.update(env)
    ssh = labmod.as_user(["ssh", "-F", config, "-o", "BatchMode=yes",
                          "-o", f"UserKnownHostsFile={SSH_DIR}/known_hosts",
                          labmod.SERVER3, "true"], env=full_env)
    return check, ssh


def log_since(host, before):
    return (labmod.STATE_DIR / host / "sshd.log").read_text(errors="replace")[before:]


def log_size(host):
    return len((labmod.STATE_DIR / host / "sshd.log").read_text(errors="replace"))


def auth_lines(check_stdout):
    return re.findall(r"^    auth      (.*)$", check_stdout, re.M)


@pytest.mark.parametrize("where", ["path", "none", "environment"])
def test_identity_agent(lab, jumpfs_bin, jfs_dir, agent, where):
    # The only usable key is in the agent (IdentityFile names nothing).
    sock, add = agent
    add(LAB_KEY)
    setting = {"path": f"  IdentityAgent {sock}\n", "none": "  IdentityAgent none\n",
               "environment": ""}[where]
    config = config_file(jfs_dir, f"  IdentityFile {jfs_dir}/no-such-key\n" + setting)
    env = {} if where == "path" else {"SSH_AUTH_SOCK": str(sock)}
    check, ssh = both(jumpfs_bin, config, env)
    if where == "none":
        assert check.returncode != 0 and ssh.returncode != 0, check.stdout + ssh.stderr
        assert "hop 1/3 (user1@jumphost1.whatever.org:22): authentication failed" \
            in check.stdout, check.stdout
        assert "ssh-agent" not in check.stdout
    else:
        assert check.returncode == 0, check.stdout + check.stderr
        assert ssh.returncode == 0, ssh.stderr
        # An agent key is named by its comment.
        assert auth_lines(check.stdout) == ["publickey (ssh-agent: jfsuser@jumpfs-lab)"] * 3


def test_identities_only_never_offers_another_agent_key(lab, jumpfs_bin, jfs_dir, agent,
                                                        other_key):
    # The agent holds the authorized key and another; IdentityFile names the
    # other one: only that one is offered, so the login fails, as with ssh.
    sock, add = agent
    add(other_key)
    add(LAB_KEY)
    config = config_file(jfs_dir, f"  IdentityFile {other_key}\n  IdentitiesOnly yes\n"
                         f"  IdentityAgent {sock}\n")
    before = log_size("jump1")
    check, ssh = both(jumpfs_bin, config)
    assert check.returncode != 0 and ssh.returncode != 0, check.stdout + ssh.stderr
    log = log_since("jump1", before)
    assert fingerprint(f"{other_key}.pub") in log
    assert fingerprint(f"{LAB_KEY}.pub") not in log  # never offered
    assert f"{other_key} (ssh-agent)" in check.stdout


def test_identities_only_uses_the_agent_for_a_matching_identity_file(
        lab, jumpfs_bin, jfs_dir, agent, other_key):
    # IdentityFile names the authorized key by its .pub alone (no private
    # file): the agent signs with it; the agent's other key is not offered.
    sock, add = agent
    add(other_key)
    add(LAB_KEY)
    pub_only = copy_key(LAB_KEY, jfs_dir / "lab_key", private=False)
    config = config_file(jfs_dir, f"  IdentityFile {pub_only}\n  IdentitiesOnly yes\n"
                         f"  IdentityAgent {sock}\n")
    before = log_size("jump1")
    check, ssh = both(jumpfs_bin, config)
    assert check.returncode == 0, check.stdout + check.stderr
    assert ssh.returncode == 0, ssh.stderr
    # Named by the IdentityFile it matched.
    assert auth_lines(check.stdout) == [f"publickey (ssh-agent: {pub_only})"] * 3
    assert fingerprint(f"{other_key}.pub") not in log_since("jump1", before)


@pytest.mark.parametrize("how", ["plain key", "CertificateFile", "KEY-cert.pub"])
def test_user_certificate(lab, jumpfs_bin, jfs_dir, how):
    # The certificate key is in no authorized_keys: alone it is refused;
    # with its certificate (signed by the CA every hop trusts) it logs in.
    key = copy_key(CERT_KEY, jfs_dir / "cert_key", cert=(how == "KEY-cert.pub"))
    extra = f"  IdentityFile {key}\n  IdentitiesOnly yes\n  IdentityAgent none\n"
    if how == "CertificateFile":
        cert = jfs_dir / "elsewhere-cert.pub"
        shutil.copyfile(f"{CERT_KEY}-cert.pub", cert)
        owned(cert, 0o644)
        extra += f"  CertificateFile {cert}\n"
    config = config_file(jfs_dir, extra)
    before = {h: log_size(h) for h in ("jump1", "jump2", "backend")}
    check, ssh = both(jumpfs_bin, config)
    if how == "plain key":
        assert check.returncode != 0 and ssh.returncode != 0, check.stdout + ssh.stderr
        assert f"tried: {key}" in check.stdout, check.stdout
        return
    assert check.returncode == 0, check.stdout + check.stderr
    assert ssh.returncode == 0, ssh.stderr
    shown = str(cert) if how == "CertificateFile" else f"{key}-cert.pub"
    assert auth_lines(check.stdout) == [f"publickey ({shown})"] * 3
    for host, user in (("jump1", "user1"), ("jump2", "user2"),
                       ("backend", labmod.BACKEND.user)):
        log = log_since(host, before[host])
        assert re.search(rf"Accepted publickey for {user} from .* ED25519-CERT .*"
                         r"ID jfsuser@jumpfs-lab", log), log


@pytest.mark.parametrize("identities_only", ["no", "yes"])
def test_certificate_signed_by_the_agent(lab, jumpfs_bin, jfs_dir, agent, identities_only):
    # The certificate's private key is only in the agent (no key file, and
    # the agent does not hold the certificate). As in OpenSSH, the agent
    # signs for it when its key is among the identities: not with
    # IdentitiesOnly yes, where no IdentityFile names that key.
    sock, add = agent
    add(copy_key(CERT_KEY, jfs_dir / "agent_only"))
    cert = jfs_dir / "cert.pub"
    shutil.copyfile(f"{CERT_KEY}-cert.pub", cert)
    owned(cert, 0o644)
    config = config_file(jfs_dir, f"  IdentityFile {jfs_dir}/no-such-key\n"
                         f"  IdentitiesOnly {identities_only}\n  CertificateFile {cert}\n"
                         f"  IdentityAgent {sock}\n")
    check, ssh = both(jumpfs_bin, config)
    if identities_only == "yes":
        assert check.returncode != 0 and ssh.returncode != 0, check.stdout + ssh.stderr
        assert f"{cert} (no private key here or in the agent)" in check.stdout, check.stdout
        return
    assert check.returncode == 0, check.stdout + check.stderr
    assert ssh.returncode == 0, ssh.stderr
    assert auth_lines(check.stdout) == [f"publickey (ssh-agent: {cert})"] * 3
