"""The daemon itself under valgrind memcheck, through the real chain: no
invalid access, no definite leak, for a mount, a few operations of every
kind, and an unmount."""

import os
import shutil
import subprocess

import pytest

import jfs
import lab as labmod


def test_daemon_is_valgrind_clean(request, lab, jumpfs_bin, mountpoint):
    if request.config.getoption("--sanitized"):
        pytest.skip("the sanitized build cannot run under valgrind (ASan owns the memory)")
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed (package valgrind)")
    log = f"/tmp/jumpfs-valgrind-{os.getpid()}.log"
    daemon = labmod.popen_as_user(
        ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
         "--errors-for-leak-kinds=definite", f"--log-file={log}",
         str(jumpfs_bin), labmod.SERVER3, str(mountpoint), "-f", "-o", "no_share"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        labmod.wait_for_mount(mountpoint, timeout=90, proc=daemon)
        d = f"{mountpoint}/jfs-valgrind"
        jfs.sh(f"ls -la {mountpoint} >/dev/null && cat {mountpoint}/hello.txt >/dev/null && "
               f"mkdir {d} && dd if=/dev/urandom of={d}/f bs=64k count=20 status=none && "
               f"cat {d}/f >/dev/null && chmod 600 {d}/f && mv {d}/f {d}/g && "
               f"ln -s g {d}/l && readlink {d}/l >/dev/null && rm {d}/g {d}/l && rmdir {d}",
               timeout=300)
        jfs.unmount(mountpoint)
        assert daemon.wait(timeout=120) == 0, open(log).read()
        assert open(log).read() == ""
    finally:
        labmod.cleanup_mount(mountpoint, procs=[daemon])
        if os.path.exists(log):
            os.unlink(log)
