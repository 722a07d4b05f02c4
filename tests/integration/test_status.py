"""`jumpfs status` through the lab (3 hops: jump1, jump2, backend).

Text and JSON come from the same document: both are checked against each
other. A cut between jump1 and jump2 must show on hop 2 within the
keepalive window (-o ServerAliveInterval=1,ServerAliveCountMax=3: about
3 s), and status must answer at once meanwhile: it reads counters, never
the network. Mounts of their own (no_share, -f) answer on their own
socket. Another user sees none of the lab user's mounts."""

import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time

import pytest

import jfs
import lab as labmod

KEEPALIVE = "ServerAliveInterval=1,ServerAliveCountMax=3"
HOP_LINE = re.compile(r"^  hop (\d+)/(\d+)  (\S+)  (\S+)")
OTHER_USER = "nobody"


def status(jumpfs_bin, *args, user=labmod.JFS_USER, env=None):
    """Runs `jumpfs status ARGS` as user; returns (CompletedProcess, seconds)."""
    start = time.monotonic()
    proc = labmod.as_user([str(jumpfs_bin), "status", *args], user=user, timeout=30,
                          env=env)
    return proc, time.monotonic() - start


def status_json(jumpfs_bin, *args):
    proc, _ = status(jumpfs_bin, "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def text_hops(text, mount_point):
    """{hop number: (address, state)} of mount_point's block in the text."""
    hops, inside = {}, False
    for line in text.splitlines():
        if not line.startswith(" "):
            inside = line.split("  ")[0] == str(mount_point)
            continue
        m = HOP_LINE.match(line)
        if inside and m:
            hops[int(m.group(1))] = (m.group(3), m.group(4))
    return hops


def mount_of(document, mount_point):
    found = [m for m in document["mounts"] if m["mount_point"] == str(mount_point)]
    assert len(found) == 1, document
    return found[0]


def test_three_hops_up_text_and_json_agree(lab, jumpfs_bin, mountpoint):
    jfs.mount_ok(jumpfs_bin, mountpoint, labmod.SERVER3)
    jfs.sh(f"cat {mountpoint}/hello.txt >/dev/null")

    proc, seconds = status(jumpfs_bin)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert f"{mountpoint}  {labmod.SERVER3}:" in text
    assert "sftp channel 1: open" in text and "write-behind: 0 B queued" in text
    hops = text_hops(text, mountpoint)
    assert [state for _, state in hops.values()] == ["up", "up", "up"], text
    assert hops[1][0] == f"{labmod.JUMP1.user}@{labmod.JUMP1.fqdn}:{labmod.JUMP1.port}"
    assert hops[2][0] == f"{labmod.JUMP2.user}@{labmod.JUMP2.fqdn}:{labmod.JUMP2.port}"
    assert hops[3][0].startswith(f"{labmod.BACKEND.user}@")

    document = status_json(jumpfs_bin)
    assert document["version"] == 1
    mount = mount_of(document, mountpoint)
    assert mount["source"] == f"{labmod.SERVER3}:"
    assert mount["reconnect"] is True and mount["hard"] is False
    assert mount["max_conns"] == 1 and mount["shared"] is True
    assert len(mount["hops"]) == 3
    for i, hop in enumerate(mount["hops"], 1):
        # The same hops, states and addresses as the text.
        assert (hop["address"], hop["state"]) == hops[i]
        assert hop["hop"] == i and hop["hops"] == 3
        assert hop["bytes_in"] > 0 and hop["bytes_out"] > 0, hop
        assert hop["rtt_us"] is not None and hop["rtt_us"] >= 0, hop
        assert hop["logins"] >= 1 and hop["auth_method"].startswith("publickey"), hop
        assert hop["why"] is None and hop["channels"] >= 1
    # The shared channel, and write_stripes=4's three, not open before a
    # file is written.
    assert [(c["open"], c["stripe"]) for c in mount["channels"]] == \
        [(True, False)] + [(False, True)] * 3
    assert "sftp channel 2 (write stripe): closed" in text
    assert mount["channels"][0]["requests_in_flight"] == 0
    assert mount["write_behind_queued_bytes"] == 0

    # Only this mount, by its path (relative paths work too).
    proc, _ = status(jumpfs_bin, str(mountpoint))
    assert proc.returncode == 0 and text_hops(proc.stdout, mountpoint) == hops
    proc, _ = status(jumpfs_bin, "/tmp")
    assert proc.returncode == 1
    assert "/tmp is not a jumpfs mount of yours" in proc.stderr


def test_another_user_sees_no_mount(lab, jumpfs_bin, mountpoint):
    jfs.mount_ok(jumpfs_bin, mountpoint, labmod.SERVER3)
    other_dir = f"/tmp/jumpfs-{pwd.getpwnam(OTHER_USER).pw_uid}"
    existed = os.path.exists(other_dir)
    trap = tempfile.mkdtemp(prefix="jumpfs-status-other-")
    try:
        proc, _ = status(jumpfs_bin, user=OTHER_USER)
        assert proc.returncode == 0 and proc.stdout == "no jumpfs mounts\n", proc
        proc, _ = status(jumpfs_bin, str(mountpoint), user=OTHER_USER)
        assert proc.returncode == 1 and "not a jumpfs mount of yours" in proc.stderr
        # Pointed at the lab user's directory (XDG_RUNTIME_DIR/jumpfs a
        # symlink to it): refused, not followed.
        owner = pwd.getpwnam(OTHER_USER)
        os.chown(trap, owner.pw_uid, owner.pw_gid)
        os.symlink(f"/tmp/jumpfs-{pwd.getpwnam(labmod.JFS_USER).pw_uid}",
                   os.path.join(trap, "jumpfs"))
        proc, _ = status(jumpfs_bin, "--json", user=OTHER_USER,
                         env={**os.environ, "XDG_RUNTIME_DIR": trap})
        assert json.loads(proc.stdout)["mounts"] == [], proc.stdout
        assert "not a private directory of yours" in proc.stderr
    finally:
        shutil.rmtree(trap, ignore_errors=True)
        if not existed:
            shutil.rmtree(other_dir, ignore_errors=True)


def test_a_cut_shows_on_its_hop_at_once(lab, jumpfs_bin, mountpoint):
    # A process of its own (its own keepalives, its own "mount-PID" socket).
    jfs.mount_ok(jumpfs_bin, mountpoint, labmod.SERVER3, "-o", KEEPALIVE + ",no_share")
    jfs.sh(f"ls {mountpoint} >/dev/null")
    mount = mount_of(status_json(jumpfs_bin), mountpoint)
    assert mount["shared"] is False
    assert [h["state"] for h in mount["hops"]] == ["up", "up", "up"]

    lab.link("jump1-jump2", "down")
    try:
        cut = time.monotonic()
        while True:
            proc, seconds = status(jumpfs_bin, "--json", str(mountpoint))
            # Counters only: the cut never holds status up.
            assert proc.returncode == 0 and seconds < 2, (seconds, proc.stderr)
            hops = mount_of(json.loads(proc.stdout), mountpoint)["hops"]
            broken = [h for h in hops[1:] if h["state"] in ("down", "reconnecting")]
            if broken and broken[0]["why"]:
                break
            # 3 keepalives of 1 s, and a little slack for a loaded CI box.
            assert time.monotonic() - cut < 8, hops
            time.sleep(0.25)
        assert hops[0]["state"] == "up", hops  # jump1 itself is fine
        assert broken[0]["hop"] == 2, hops
        assert "keepalive" in broken[0]["why"] or "lost" in broken[0]["why"], broken
        proc, seconds = status(jumpfs_bin, str(mountpoint))
        assert seconds < 2
        line = [l for l in proc.stdout.splitlines() if l.startswith("  hop 2/3")][0]
        assert re.search(r" (down|reconnecting) since \d\d:\d\d:\d\d", line), line
    finally:
        lab.link("jump1-jump2", "up")
    # After the link is back, an operation rebuilds the chain: all up.
    deadline = time.monotonic() + 20
    while True:
        jfs.sh(f"ls {mountpoint} >/dev/null", check=False)
        hops = mount_of(status_json(jumpfs_bin, str(mountpoint)), mountpoint)["hops"]
        if all(h["state"] == "up" for h in hops) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert [h["state"] for h in hops] == ["up", "up", "up"], hops


def test_a_foreground_mount_answers_on_its_own_socket(lab, jumpfs_bin, mountpoint):
    proc = labmod.popen_as_user([str(jumpfs_bin), labmod.SERVER3, str(mountpoint), "-f"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=jfs._env(None))
    try:
        labmod.wait_for_mount(mountpoint, timeout=30)
        uid = pwd.getpwnam(labmod.JFS_USER).pw_uid
        pids = jfs.jumpfs_pids(mountpoint)
        assert len(pids) == 1
        assert os.path.exists(f"/tmp/jumpfs-{uid}/mount-{pids[0]}")
        mount = mount_of(status_json(jumpfs_bin), mountpoint)
        assert mount["pid"] == pids[0] and mount["shared"] is False
        assert [h["state"] for h in mount["hops"]] == ["up", "up", "up"]
    finally:
        labmod.cleanup_mount(mountpoint, [proc])


def test_status_while_a_mount_ends(lab, jumpfs_bin, mountpoint):
    """Status calls in a loop while one of the daemon's mounts goes away:
    each answers (with or without it), and the daemon and its other mount
    live on."""
    second = tempfile.mkdtemp(prefix="jumpfs-mnt-", dir="/tmp")
    pw = pwd.getpwnam(labmod.JFS_USER)
    os.chown(second, pw.pw_uid, pw.pw_gid)
    try:
        jfs.mount_ok(jumpfs_bin, mountpoint, labmod.SERVER3)
        jfs.mount_ok(jumpfs_bin, second, labmod.SERVER3)
        loop = labmod.popen_as_user(
            ["sh", "-c", f"for i in $(seq 1 60); do {jumpfs_bin} status --json >/dev/null "
                         "|| exit 1; done"])
        time.sleep(0.2)
        jfs.unmount(second)
        assert loop.wait(timeout=60) == 0
        document = status_json(jumpfs_bin)
        assert [m["mount_point"] for m in document["mounts"]] == [str(mountpoint)]
        jfs.sh(f"cat {mountpoint}/hello.txt >/dev/null")
    finally:
        labmod.cleanup_mount(second)
        os.rmdir(second)
