"""Configs as distributions ship them mount through the lab, as jfsuser.

Fedora/RHEL: /etc/ssh/ssh_config includes ssh_config.d/*.conf, whose
50-redhat.conf starts with `Match final all` and includes the system crypto
policy (algorithm lists with types libssh 0.10 cannot speak, RequiredRSASize
2048).  Here the same shape lives in a test directory, read with -F."""

import os
import pwd
import re
import shutil
import tempfile
from pathlib import Path

import pytest

import jfs
import lab as labmod

CRYPTO_POLICY = """\
Ciphers aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes256-ctr,aes128-gcm@openssh.com,aes128-ctr
MACs hmac-sha2-256-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha1,umac-128@openssh.com,hmac-sha2-512
GSSAPIKexAlgorithms gss-curve25519-sha256-,gss-nistp256-sha256-,gss-group14-sha256-,gss-group16-sha512-
KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group14-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512
PubkeyAcceptedAlgorithms ecdsa-sha2-nistp256,ecdsa-sha2-nistp256-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,rsa-sha2-256,rsa-sha2-512
HostKeyAlgorithms ecdsa-sha2-nistp256,ecdsa-sha2-nistp256-cert-v01@openssh.com,ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512
RequiredRSASize 2048
"""

REDHAT_CONF = """\
# The options here are in the "Match final block" to be applied as the last
# options and could be potentially overwritten by the user configuration
Match final all
	# Follow system-wide Crypto Policy, if defined:
	Include {crypto}

	GSSAPIAuthentication yes

# If this option is set to yes then remote X11 clients will have full access
# to the original X11 display. As virtually no X11 client supports the untrusted
# mode correctly we set this to yes.
	ForwardX11Trusted yes

# Send locale environment variables. #367017
	SendEnv LANG LC_CTYPE LC_NUMERIC LC_TIME LC_COLLATE LC_MONETARY LC_MESSAGES
	SendEnv LC_PAPER LC_NAME LC_ADDRESS LC_TELEPHONE LC_MEASUREMENT
	SendEnv LC_IDENTIFICATION LC_ALL LANGUAGE
	SendEnv XMODIFIERS
"""


@pytest.fixture
def workdir():
    pw = pwd.getpwnam(labmod.JFS_USER)
    path = Path(tempfile.mkdtemp(prefix="jumpfs-distro-", dir="/tmp"))
    os.chown(path, pw.pw_uid, pw.pw_gid)
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def _write(path, text):
    pw = pwd.getpwnam(labmod.JFS_USER)
    path.write_text(text)
    os.chown(path, pw.pw_uid, pw.pw_gid)
    path.chmod(0o644)
    return path


def fedora_config(workdir):
    confd = workdir / "ssh_config.d"
    confd.mkdir()
    os.chown(confd, pwd.getpwnam(labmod.JFS_USER).pw_uid, -1)
    crypto = _write(workdir / "crypto-policy-openssh.config", CRYPTO_POLICY)
    _write(confd / "50-redhat.conf", REDHAT_CONF.format(crypto=crypto))
    return _write(workdir / "ssh_config",
                  f"Include {confd}/*.conf\n"
                  f"Host server3\n"
                  f"    HostName {labmod.BACKEND.addr}\n"
                  f"    ProxyJump {labmod.PROXYJUMP_2HOPS}\n"
                  f"    User {labmod.BACKEND.user}\n"
                  f"Host *\n"
                  f"    SendEnv LANG LC_*\n"
                  f"    HashKnownHosts yes\n")


def test_fedora_shaped_config_mounts_server3(lab, jumpfs_bin, mountpoint, workdir):
    conf = fedora_config(workdir)
    # The judge: OpenSSH takes this config through the same chain.
    ssh = labmod.as_user(["ssh", "-F", conf, "-o", "BatchMode=yes", "server3", "true"])
    assert ssh.returncode == 0, ssh.stderr

    stderr = workdir / "stderr"
    with open(stderr, "w") as err:
        proc = labmod.popen_as_user([jumpfs_bin, "server3", mountpoint, "-F", conf, "-d"],
                                    stdout=err, stderr=err, env=jfs._env(None))
    try:
        labmod.wait_for_mount(mountpoint, timeout=30, proc=proc)
        assert jfs.sh(f"cat {mountpoint}/hello.txt") == labmod.BACKEND_HELLO.read_text()
        # The policy's lists (from the Match final block) reached every
        # hop: its first cipher, not jumpfs's AES-GCM-128-first default.
        text = stderr.read_text()
        client = re.findall(r"(hop \d/3) \([^)]*\): kex \S+, cipher ([^\s,]+)", text)
        assert client == [(f"hop {i}/3", "aes256-gcm@openssh.com") for i in (1, 2, 3)], text
        jfs.unmount(mountpoint)
        assert proc.wait(timeout=10) == 0
    finally:
        labmod.cleanup_mount(mountpoint, [proc])
