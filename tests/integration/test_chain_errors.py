"""Every way the chain can break gives one clear error that names the hop
and the cause, a non-zero exit, and no mount."""

import re
import subprocess

import jfs
import lab as labmod

J1 = f"{labmod.JUMP1.user}@{labmod.JUMP1.fqdn}:{labmod.JUMP1.port}"
J2 = f"{labmod.JUMP2.user}@{labmod.JUMP2.fqdn}:{labmod.JUMP2.port}"
FINGERPRINT = r"SHA256:[A-Za-z0-9+/]{43}"


def expect_failure(jumpfs_bin, mountpoint, *args, **kwargs):
    proc = jfs.mount(jumpfs_bin, mountpoint, *args, **kwargs)
    assert proc.returncode != 0, "jumpfs succeeded where it must fail"
    assert not labmod.is_mounted(mountpoint)
    message = proc.stderr.strip()
    assert message.startswith("jumpfs: "), message
    assert len(message.splitlines()) == 1, message
    return message


def test_host_key_changed_at_hop_2(lab, jumpfs_bin, mountpoint):
    lab.hostkey("jump2", "rotate")
    message = expect_failure(jumpfs_bin, mountpoint)
    assert "hop 2/3" in message
    assert "jumphost2.whatever.org:2222" in message
    assert "HOST KEY CHANGED" in message
    assert len(re.findall(FINGERPRINT, message)) == 2, message  # expected and offered


def test_wrong_user_at_hop_1(lab, jumpfs_bin, mountpoint):
    message = expect_failure(jumpfs_bin, mountpoint, labmod.SERVER3,
                             "-J", f"nobody@{labmod.JUMP1.fqdn}:22,{J2}")
    assert "hop 1/3" in message
    assert "authentication failed for user 'nobody'" in message


def test_forwarding_denied_at_jump2(lab, jumpfs_bin, mountpoint):
    lab.forwarding("jump2", "off")
    message = expect_failure(jumpfs_bin, mountpoint)
    assert "hop 2/3" in message
    assert "refused to forward" in message and "AllowTcpForwarding" in message


def test_backend_unreachable_from_jump1_names_hop_1(lab, jumpfs_bin, mountpoint):
    # server2 jumps through jump1 only, which has no route to the backend.
    message = expect_failure(jumpfs_bin, mountpoint, labmod.SERVER2)
    assert "hop 1/2" in message
    assert "10.77.3.2:22" in message


def test_unknown_jump_host_names_the_hop_that_resolves_it(lab, jumpfs_bin, mountpoint):
    # jump1 looks the name up, in its own namespace, where no DNS is
    # reachable: the lookup fails on this machine.
    message = expect_failure(jumpfs_bin, mountpoint, labmod.SERVER3,
                             "-J", f"{J1},user2@no-such-host.whatever.org:2222")
    assert "hop 1/3" in message
    assert "no-such-host.whatever.org" in message


def test_unknown_alias(lab, jumpfs_bin, mountpoint):
    # Run the client in a network namespace of its own (only a loopback,
    # down) so that resolving the unknown name sends nothing anywhere.
    proc = subprocess.run(["unshare", "--net", "runuser", "-u", labmod.JFS_USER, "--",
                           str(jumpfs_bin), "no-such-alias", str(mountpoint)],
                          capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode != 0
    assert "hop 1/1" in proc.stderr
    assert "cannot resolve no-such-alias" in proc.stderr
    assert not labmod.is_mounted(mountpoint)


def test_refused_port_at_hop_1(lab, jumpfs_bin, mountpoint):
    message = expect_failure(jumpfs_bin, mountpoint, labmod.SERVER3,
                             "-J", f"{labmod.JUMP1.user}@{labmod.JUMP1.fqdn}:2022,{J2}")
    assert "hop 1/3" in message
    assert "Connection refused" in message


def test_backend_sshd_down_names_hop_2(lab, jumpfs_bin, mountpoint):
    lab.sshd("backend", "stop")
    message = expect_failure(jumpfs_bin, mountpoint)
    assert "hop 2/3" in message
    assert "10.77.3.2:22" in message and "refused" in message


def test_proxycommand_that_cannot_connect_names_the_hop_and_its_words(lab, jumpfs_bin,
                                                                      mountpoint):
    # jump1 has no route to the backend: the command's ssh says so on its
    # stderr and exits; the mount fails with those words and the hop.
    config = mountpoint.parent / f"{mountpoint.name}.ssh_config"
    config.write_text("Host viacommand\n  HostName 10.77.3.2\n"
                      "  ProxyCommand ssh -o BatchMode=yes -W %h:%p "
                      f"{labmod.JUMP1.user}@{labmod.JUMP1.fqdn}\n")
    config.chmod(0o644)
    try:
        message = expect_failure(jumpfs_bin, mountpoint, "viacommand", "-F", str(config))
    finally:
        config.unlink()
    assert "hop 1/1 (" in message and "10.77.3.2:22" in message, message
    assert "the ProxyCommand (ssh -o BatchMode=yes -W 10.77.3.2:22 " in message, message
    assert "exited with status 255" in message, message
    assert "stdio forwarding failed" in message, message