"""`jumpfs --check HOST`: a report per hop on a good chain, and for every
way the chain breaks a FAILED line that names the hop, a hint, and a
non-zero exit."""

import re
import subprocess

import pytest

import lab as labmod

J1 = f"{labmod.JUMP1.user}@{labmod.JUMP1.fqdn}:{labmod.JUMP1.port}"
J2 = f"{labmod.JUMP2.user}@{labmod.JUMP2.fqdn}:{labmod.JUMP2.port}"
FINGERPRINT = r"SHA256:[A-Za-z0-9+/]{43}"
MS = r"\d+\.\d ms"


def check(jumpfs_bin, *args, timeout=60):
    """jumpfs --check as the lab user, without a terminal."""
    return labmod.as_user([str(jumpfs_bin), "--check", *args], timeout=timeout)


def hop_blocks(stdout):
    """{"hop 1/3": [lines of that hop], ...} from the report."""
    blocks, current = {}, None
    for line in stdout.splitlines():
        m = re.match(r"(hop \d+/\d+)  ", line)
        if m:
            current = m.group(1)
            blocks[current] = [line]
        elif current and line.startswith("    "):
            blocks[current].append(line.strip())
        else:
            current = None
    return blocks


def expect_broken(proc, failed_hop, *in_failed):
    """The report ends BROKEN: one FAILED line (naming failed_hop and every
    in_failed text) and a hint right after it. Returns (failed, hint)."""
    out = proc.stdout
    assert proc.returncode != 0, out
    assert out.rstrip().endswith("chain BROKEN"), out
    failed = [line.strip() for line in out.splitlines() if line.strip().startswith("FAILED")]
    assert len(failed) == 1, out
    assert failed_hop in failed[0], failed[0]
    for text in in_failed:
        assert text in failed[0], failed[0]
    lines = [line.strip() for line in out.splitlines()]
    after = lines[lines.index(failed[0]) + 1]
    assert after.startswith("hint "), out
    return failed[0], after


def test_good_chain_reports_every_hop(lab, jumpfs_bin):
    proc = check(jumpfs_bin, labmod.SERVER3)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    blocks = hop_blocks(out)
    assert list(blocks) == ["hop 1/3", "hop 2/3", "hop 3/3"], out
    assert blocks["hop 1/3"][0].startswith(f"hop 1/3  {J1}")
    assert blocks["hop 2/3"][0].startswith(f"hop 2/3  {J2}")
    assert blocks["hop 3/3"][0].startswith(
        f"hop 3/3  {labmod.BACKEND.user}@{labmod.BACKEND.addr}:22  (server3)")
    for name, lines in blocks.items():
        text = "\n".join(lines)
        assert re.search(rf"host key  ssh-ed25519 {FINGERPRINT}  \[known\]", text), text
        assert re.search(r"auth      publickey \(/home/jfsuser/\.ssh/id_ed25519\)", text), text
        assert re.search(rf"time      {MS} to connect, {MS} to authenticate", text), text
    assert re.search(r"^sftp      version 3$", out, re.M), out
    extensions = re.findall(r"^    extension (\S+)", out, re.M)
    assert "posix-rename@openssh.com=1" in extensions, out
    assert "statvfs@openssh.com=2" in extensions, out
    assert out.rstrip().endswith("chain OK")
    # Each hop says which known_hosts line decided, and under which name
    # (jump2's line is hashed, for the [host]:2222 form).
    known_hosts = "/home/jfsuser/.ssh/known_hosts"
    for name, line, lookup in (("hop 1/3", f"{known_hosts}:1", "jumphost1.whatever.org"),
                               ("hop 2/3", f"{known_hosts}:2 (hashed)",
                                "[jumphost2.whatever.org]:2222"),
                               ("hop 3/3", f"{known_hosts}:3", "10.77.3.2")):
        assert f"decided   {line}  (as {lookup})" in blocks[name], (name, blocks[name])
    # Each hop's fingerprint is the lab's host key of that host.
    for name, host in (("hop 1/3", "jump1"), ("hop 2/3", "jump2"), ("hop 3/3", "backend")):
        pub = labmod.STATE_DIR / host / "ssh_host_ed25519_key.pub"
        fp = subprocess.run(["ssh-keygen", "-lf", str(pub)], capture_output=True,
                            text=True).stdout.split()[1]
        assert fp in "\n".join(blocks[name]), (name, fp)


def test_host_key_changed_at_hop_2(lab, jumpfs_bin):
    lab.hostkey("jump2", "rotate")
    proc = check(jumpfs_bin, labmod.SERVER3)
    failed, hint = expect_broken(proc, "hop 2/3", "HOST KEY CHANGED", "jumphost2.whatever.org")
    assert "ssh-keygen -R" in hint and "jumphost2.whatever.org" in hint
    blocks = hop_blocks(proc.stdout)
    assert "[known]" in "\n".join(blocks["hop 1/3"])
    assert re.search(rf"host key  ssh-ed25519 {FINGERPRINT}  \[CHANGED\]",
                     "\n".join(blocks["hop 2/3"])), proc.stdout
    assert "hop 3/3" not in blocks


def test_wrong_user_at_hop_1(lab, jumpfs_bin):
    proc = check(jumpfs_bin, labmod.SERVER3, "-J", f"nobody@{labmod.JUMP1.fqdn}:22,{J2}")
    failed, hint = expect_broken(proc, "hop 1/3", "authentication failed for user 'nobody'")
    assert "'nobody'" in hint and "authorized_keys" in hint
    assert list(hop_blocks(proc.stdout)) == ["hop 1/3"]


def test_forwarding_denied_at_jump2(lab, jumpfs_bin):
    lab.forwarding("jump2", "off")
    proc = check(jumpfs_bin, labmod.SERVER3)
    # Hops 1 and 2 log in; opening hop 3 through jump2 is what fails.
    blocks = hop_blocks(proc.stdout)
    assert "auth      publickey" in "\n".join(blocks["hop 2/3"])
    failed, hint = expect_broken(proc, "hop 2/3", "refused to forward", "10.77.3.2:22")
    assert failed in "\n".join(blocks["hop 3/3"])
    assert hint == ("hint      jumphost2.whatever.org (hop 2/3) refused forwarding: "
                    "AllowTcpForwarding is off there (or PermitOpen excludes 10.77.3.2:22); "
                    "ask its admin, or jump through another host")


def test_backend_sshd_stopped(lab, jumpfs_bin):
    lab.sshd("backend", "stop")
    proc = check(jumpfs_bin, labmod.SERVER3)
    failed, hint = expect_broken(proc, "hop 2/3", "10.77.3.2:22", "refused")
    assert "nothing listens on port 22" in hint and "is sshd running on server3" in hint


def test_refused_port_at_hop_1(lab, jumpfs_bin):
    proc = check(jumpfs_bin, labmod.SERVER3, "-J", f"{labmod.JUMP1.user}@{labmod.JUMP1.fqdn}:2022,{J2}")
    failed, hint = expect_broken(proc, "hop 1/3", "port 2022", "Connection refused")
    assert "nothing listens on jumphost1.whatever.org port 2022" in hint


def test_unknown_alias_without_network(lab, jumpfs_bin):
    # A network namespace of its own (loopback only, down): resolving the
    # unknown name sends nothing anywhere.
    proc = subprocess.run(["unshare", "--net", "runuser", "-u", labmod.JFS_USER, "--",
                           str(jumpfs_bin), "--check", "no-such-alias"],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    failed, hint = expect_broken(proc, "hop 1/1", "cannot resolve no-such-alias")
    assert "check the host name no-such-alias" in hint


def test_unknown_jump_host_is_resolved_by_the_hop_before(lab, jumpfs_bin):
    # jump1 resolves it in its own namespace, where no DNS is reachable.
    proc = check(jumpfs_bin, labmod.SERVER3, "-J", f"{J1},user2@no-such-host.whatever.org:2222")
    failed, hint = expect_broken(proc, "hop 1/3", "no-such-host.whatever.org")
    # sshd answers only "open failed" for a name it cannot resolve.
    assert hint.startswith("hint      jumphost1.whatever.org (hop 1/3) could not reach "
                           "no-such-host.whatever.org:2222: the name may not resolve there"), hint


@pytest.mark.parametrize("bad", ["-o bogus_option", "-o ssh_command=ssh"])
def test_bad_option_fails_before_connecting(lab, jumpfs_bin, mountpoint, bad):
    before = lab.all_logins()
    proc = labmod.as_user([str(jumpfs_bin), labmod.SERVER3, str(mountpoint), *bad.split()])
    assert proc.returncode != 0
    message = proc.stderr.strip()
    assert len(message.splitlines()) == 1 and message.startswith("jumpfs: "), message
    assert bad.split()[1] in message
    assert lab.all_logins() == before  # nothing was even connected
    assert not labmod.is_mounted(mountpoint)
