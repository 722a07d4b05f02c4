"""The lab is real: the backend is reachable only through the SSH jumps, and
the fault controls the jumpfs tests rely on do what they say.

These use the OpenSSH client (and sshfs) only to prove the lab; jumpfs itself
never spawns ssh.
"""

import errno
import subprocess
import time

import pytest

from lab import (BACKEND, BACKEND_HELLO, JFS_USER, JUMP1, JUMP2, PROXYJUMP_2HOPS, SERVER2,
                 SSH_OPTS, as_user, cleanup_mount, connect_errno, fuse_mounts, host_route,
                 is_mounted, popen_as_user, ssh, wait_for_mount)

UNREACHABLE = (errno.EHOSTUNREACH, errno.ENETUNREACH)


# --- isolation ---------------------------------------------------------------

pytestmark = pytest.mark.unsanitized_only("the lab's own checks start no jumpfs")

def test_backend_unreachable_from_host(lab):
    # The kernel refuses locally (unreachable route): nothing is sent.
    assert host_route(BACKEND.addr) == "blocked"
    started = time.monotonic()
    assert connect_errno(BACKEND.addr, BACKEND.port) in UNREACHABLE
    assert time.monotonic() - started < 1.0, "refusal must be immediate, not a timeout"


def test_jump2_unreachable_from_host(lab):
    assert host_route(JUMP2.addr) == "blocked"
    assert connect_errno(JUMP2.addr, JUMP2.port) in UNREACHABLE


def test_jump1_reachable_from_host(lab):
    # Guards the two tests above: they must fail for the right reason.
    assert host_route(JUMP1.addr) == "lab"
    assert connect_errno(JUMP1.addr, JUMP1.port) == 0


def test_backend_unreachable_from_jump1(lab):
    # jump1 has no route to 10.77.3.0/24 and nobody forwards.
    proc = subprocess.run(
        ["ip", "netns", "exec", JUMP1.ns, "python3", "-c",
         "import socket,sys\n"
         "s=socket.socket(); s.settimeout(2)\n"
         f"sys.exit(s.connect_ex(('{BACKEND.addr}', {BACKEND.port})))"],
        capture_output=True, text=True, timeout=10)
    assert proc.returncode in UNREACHABLE, proc


def test_lab_status_is_green(lab):
    st = lab.status()
    assert st.returncode == 0, st.stdout + st.stderr
    assert "isolation: ok" in st.stdout


# --- the chain ---------------------------------------------------------------

def test_ssh_through_both_jumps_lands_on_backend(lab):
    r = ssh('echo "$SSH_CONNECTION"; cat ~/hello.txt')
    assert r.returncode == 0, r.stderr
    conn, hello = r.stdout.splitlines()
    client_ip, _, server_ip, server_port = conn.split()
    # The backend sees jump2 as its client: the last hop came from jump2.
    assert (client_ip, server_ip, server_port) == ("10.77.3.1", BACKEND.addr, "22")
    assert hello == BACKEND_HELLO.read_text().strip()


def test_explicit_dash_J_works(lab):
    r = as_user(["ssh", *SSH_OPTS, "-J", PROXYJUMP_2HOPS, f"{BACKEND.user}@{BACKEND.addr}",
                 "true"])
    assert r.returncode == 0, r.stderr


def test_server2_cannot_reach_backend(lab):
    # jump1 cannot connect to 10.77.3.2: the direct-tcpip open fails.
    before = lab.logins("jump1")
    r = ssh("true", alias=SERVER2)
    assert r.returncode == 255
    assert "open failed" in r.stderr
    assert lab.logins("jump1") == before + 1


def test_logins_counter_increments(lab):
    before = lab.all_logins()
    r = ssh("true")
    assert r.returncode == 0, r.stderr
    after = lab.all_logins()
    assert after == {h: n + 1 for h, n in before.items()}


def test_client_files(lab):
    home = as_user(["sh", "-c", "echo $HOME"]).stdout.strip()
    r = as_user(["stat", "-c", "%a %U %n", f"{home}/.ssh", f"{home}/.ssh/config",
                 f"{home}/.ssh/known_hosts", f"{home}/.ssh/id_ed25519"])
    modes = [line.split()[:2] for line in r.stdout.splitlines()]
    assert modes == [["700", JFS_USER], ["600", JFS_USER], ["600", JFS_USER], ["600", JFS_USER]]
    known = as_user(["cat", f"{home}/.ssh/known_hosts"]).stdout.splitlines()
    assert [line.split()[0] for line in known if not line.startswith("|1|")] == \
        [JUMP1.fqdn, BACKEND.addr]
    assert sum(line.startswith("|1|") for line in known) == 1
    # The hashed entry is jump2 under [name]:port.
    r = as_user(["ssh-keygen", "-F", f"[{JUMP2.fqdn}]:{JUMP2.port}", "-f",
                 f"{home}/.ssh/known_hosts"])
    assert r.returncode == 0 and "|1|" in r.stdout


# --- fault controls ----------------------------------------------------------

def test_forwarding_off_at_jump2_breaks_chain(lab):
    lab.forwarding("jump2", "off")
    before = lab.logins("jump2")
    r = ssh("true")
    assert r.returncode == 255
    assert "open failed" in r.stderr
    assert lab.logins("jump2") == before + 1, "jump2 let us in, then refused to forward"
    lab.forwarding("jump2", "on")
    assert ssh("true").returncode == 0


def test_hostkey_rotation_is_detected(lab):
    lab.hostkey("jump2", "rotate")
    r = ssh("true")
    assert r.returncode == 255
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in r.stderr
    lab.hostkey("jump2", "restore")
    assert ssh("true").returncode == 0


def test_link_down_breaks_chain(lab):
    lab.link("jump1-jump2", "down")
    r = ssh("true")
    assert r.returncode == 255
    lab.link("jump1-jump2", "up")
    assert ssh("true").returncode == 0


def test_sshd_stop_refuses_new_connections(lab):
    lab.sshd("backend", "stop")
    before = lab.logins("backend")
    assert ssh("true").returncode == 255
    assert lab.logins("backend") == before
    lab.sshd("backend", "start")
    assert ssh("true").returncode == 0


def test_kill_sessions_drops_live_session(lab):
    proc = popen_as_user(["ssh", *SSH_OPTS, "server3", "echo ready; exec sleep 60"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == "ready"
        out = lab.kill_sessions("jump2", JUMP2.user).stdout
        assert "killed 0" not in out, out
        assert proc.wait(timeout=10) == 255
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    # The listener survived: new connections work at once.
    assert ssh("true").returncode == 0


def test_fault_left_behind_part1(lab):
    # Deliberately leaves a fault: the fixture must undo it before part 2.
    lab.forwarding("jump2", "off")
    lab.link("jump2-backend", "down")


def test_fault_left_behind_part2(lab):
    r = ssh("true")
    assert r.returncode == 0, r.stderr


# --- FUSE helpers, with sshfs as a stand-in daemon ---------------------------

def test_sshfs_through_chain_and_mount_helpers(lab, mountpoint):
    proc = popen_as_user(["sshfs", "-f", "-o", "BatchMode=yes", "server3:", str(mountpoint)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for_mount(mountpoint, timeout=15, proc=proc)
        assert fuse_mounts()[str(mountpoint)] == "fuse.sshfs"
        r = as_user(["cat", f"{mountpoint}/hello.txt"])
        assert r.stdout == BACKEND_HELLO.read_text()
    finally:
        cleanup_mount(mountpoint, [proc])
    assert not is_mounted(mountpoint)
    assert proc.poll() is not None


def test_wait_for_mount_reports_a_daemon_that_died(lab, mountpoint):
    # A stand-in daemon that fails before mounting: the helper must say so
    # at once, with the daemon's output, not wait out its timeout.
    proc = popen_as_user(["sh", "-c", "echo cannot reach backend >&2; exit 3"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"(?s)exited 3 .*cannot reach backend"):
        wait_for_mount(mountpoint, timeout=15, proc=proc)
    assert time.monotonic() - started < 5
