"""After a reconnect, an open file is re-opened by path only if it is still
the same file (fs/identity.c): one replaced on the server while the chain
was down fails with EIO and is left untouched; one that only our own writes
changed goes on working."""

import os
import subprocess
import tempfile
import time

import jfs
import lab as labmod
from semantics import BACKEND_HOME, backend_chown, make_scratch, remove_scratch

KEEPALIVE = "ServerAliveInterval=1,ServerAliveCountMax=3,no_share"

# A writer under our control: it opens both files, then writes on request
# and prints the errno's name (or OK) for each.
WRITER = """
import errno, os, sys
fds = {name: os.open(os.path.join(sys.argv[1], name), os.O_WRONLY) for name in sys.argv[2:]}
for name, fd in fds.items():
    os.pwrite(fd, b"ours-1\\n", 0)
print("ready", flush=True)
for line in sys.stdin:
    name, data = line.split()
    try:
        if data == "fsync":
            os.fsync(fds[name])
        else:
            os.pwrite(fds[name], data.encode() + b"\\n", os.fstat(fds[name]).st_size)
        print("OK", flush=True)
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e.errno)), flush=True)
"""


def _backend_file(path, data):
    path.write_bytes(data)
    backend_chown(path)


def test_file_replaced_while_the_chain_is_down(lab, jumpfs_bin, mountpoint):
    scratch = make_scratch("jfs-reopen-")
    here = BACKEND_HOME / scratch
    log = tempfile.NamedTemporaryFile(prefix="jumpfs-reopen-", suffix=".log", delete=False)
    daemon = writer = None
    try:
        _backend_file(here / "replaced", b"old contents of the file\n")
        _backend_file(here / "kept", b"a file nobody else touches\n")
        daemon = labmod.popen_as_user(
            [str(jumpfs_bin), labmod.SERVER3, str(mountpoint), "-f", "-o", KEEPALIVE],
            stdout=subprocess.DEVNULL, stderr=log)
        labmod.wait_for_mount(mountpoint, timeout=30, proc=daemon)
        writer = labmod.popen_as_user(
            ["/usr/bin/python3", "-c", WRITER, f"{mountpoint}/{scratch}", "replaced", "kept"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert writer.stdout.readline().strip() == "ready"

        def write(name, data):
            writer.stdin.write(f"{name} {data}\n")
            writer.stdin.flush()
            return writer.stdout.readline().strip()

        assert write("kept", "ours-2") == "OK"
        lab.link("jump1-jump2", "down")
        try:
            # The keepalives find the chain dead within ~3 s.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if write("kept", "while-down") != "OK":
                    break
                time.sleep(0.5)
            else:
                raise AssertionError("writes kept succeeding with the chain down")
            # Another file takes the name, as an editor's save or a
            # deployment would do it: written aside, renamed over.
            _backend_file(here / "new", b"the new file\n")
            os.rename(here / "new", here / "replaced")
        finally:
            lab.link("jump1-jump2", "up")

        # Until the chain is back, writes fail for want of a connection;
        # then the re-open finds another file under the name. (Write-behind:
        # the write that meets it may have been queued, and is dropped with
        # the file; the next write reports the loss.)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            result = write("replaced", "must-not-land")
            if result == "EIO" or "not the file that was open" in open(log.name).read():
                break
            time.sleep(0.5)
        messages = open(log.name).read()
        assert "not the file that was open" in messages, messages
        assert write("replaced", "nor-this") == "EIO"
        assert (here / "replaced").read_bytes() == b"the new file\n"
        line = next(m for m in messages.splitlines() if "not the file that was open" in m)
        assert f"/{scratch}/replaced" in line and "size" in line, line

        # The file that only our writes changed is re-opened and written.
        deadline = time.monotonic() + 30
        while write("kept", "ours-3") != "OK":
            assert time.monotonic() < deadline, open(log.name).read()
            time.sleep(0.5)
        assert write("kept", "fsync") == "OK"  # every queued byte is there
        content = (here / "kept").read_bytes()
        assert content.startswith(b"ours-1\n") and content.endswith(b"ours-3\n"), content
        assert b"ours-2\n" in content
    finally:
        if writer is not None:
            writer.stdin.close()
            writer.wait(timeout=30)
        labmod.cleanup_mount(mountpoint, procs=[p for p in (daemon,) if p])
        remove_scratch(scratch)
        os.unlink(log.name)
