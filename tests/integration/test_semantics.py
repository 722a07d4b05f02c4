"""POSIX semantics on a jumpfs mount through the 2-hop lab, as the lab user:
what local tools expect of a file system (docs/posix.md is the table).

Most tests share one mount (its own daemon, -o no_share); option tests make
their own. Everything on the mount runs as jfsuser (semantics.run_py); the
backend's files are host files under /home/anotherusername, checked as root.
"""

import json
import os
import shutil
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

import jfs
import lab as labmod
from textwrap import dedent

from semantics import (BACKEND_HOME, PRELUDE, backend_chown, backend_tmpfs, make_scratch,
                       own_mount, remove_scratch, run_py)

HERE = Path(__file__).resolve().parent
GIB = 1 << 30


@pytest.fixture(scope="module")
def lab_up(request):
    """The lab, brought up by the session's `lab` fixture, but without the
    `lab restore` after every test that naming `lab` brings (seconds each):
    these tests make no faults."""
    return request.getfixturevalue("lab")


@pytest.fixture(scope="module")
def mount(lab_up, jumpfs_bin, pytestconfig):
    """(mount point, daemon pid) of a default mount shared by this module."""
    with own_mount(jumpfs_bin, pytestconfig) as m:
        yield m


@pytest.fixture
def sd(mount):
    """A scratch directory: (path through the mount, path on the backend)."""
    name = make_scratch()
    yield f"{mount[0]}/{name}", BACKEND_HOME / name
    remove_scratch(name)


# --- OpenSSH extensions ------------------------------------------------------

def test_the_server_offers_the_extensions_we_use(lab_up, jumpfs_bin):
    out = labmod.as_user([str(jumpfs_bin), "--check", labmod.SERVER3], timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    for ext in ("posix-rename", "hardlink", "fsync", "statvfs", "fstatvfs", "lsetstat"):
        assert f"extension {ext}@openssh.com=" in out.stdout, ext


def test_rename_replaces_atomically(sd):
    """posix-rename: the target name never goes missing, and a reader on
    the server never sees a half-written file."""
    m, b = sd
    (b / "target").write_bytes(b"0" * 65536)
    backend_chown(b / "target")
    stop = threading.Event()
    seen = {"missing": 0, "torn": 0, "reads": 0}

    def reader():
        while not stop.is_set():
            try:
                data = (b / "target").read_bytes()
            except FileNotFoundError:
                seen["missing"] += 1
                continue
            seen["reads"] += 1
            if len(data) != 65536 or len(set(data)) != 1:
                seen["torn"] += 1

    t = threading.Thread(target=reader)
    t.start()
    try:
        out = run_py("""
            for i in range(150):
                tmp = f"{M}/.target.tmp"
                put(tmp, bytes([48 + i % 10]) * 65536)
                os.rename(tmp, f"{M}/target")
            print(json.dumps(sorted(os.listdir(M))))
        """, M=m)
    finally:
        stop.set()
        t.join()
    assert out == ["target"]
    assert seen["reads"] > 0
    assert seen["missing"] == 0, seen
    assert seen["torn"] == 0, seen
    assert (b / "target").read_bytes() == bytes([48 + 149 % 10]) * 65536


def test_hard_link_is_a_real_link_on_the_server(sd):
    m, b = sd
    out = run_py("""
        put(f"{M}/a", b"shared")
        before = os.stat(f"{M}/a").st_nlink
        os.link(f"{M}/a", f"{M}/b")
        # both names show the new count at once (ln a b; stat a)
        counts = [before, os.stat(f"{M}/a").st_nlink, os.stat(f"{M}/b").st_nlink]
        os.link(f"{M}/b", f"{M}/c")
        counts.append(os.stat(f"{M}/a").st_nlink)
        os.unlink(f"{M}/c")
        counts += [os.stat(f"{M}/a").st_nlink, os.stat(f"{M}/b").st_nlink]
        r = {"counts": counts, "eexist": err(os.link, f"{M}/a", f"{M}/b"),
             "enoent": err(os.link, f"{M}/nothing", f"{M}/c"),
             "b": get(f"{M}/b").decode()}
        print(json.dumps(r))
    """, M=m)
    assert out == {"counts": [1, 2, 2, 3, 2, 2], "eexist": "EEXIST", "enoent": "ENOENT",
                   "b": "shared"}
    sa, sb = os.stat(b / "a"), os.stat(b / "b")
    assert sa.st_ino == sb.st_ino and sa.st_nlink == 2


def test_fsync_and_statvfs(sd, mount):
    m, b = sd
    out = run_py("""
        fd = os.open(f"{M}/f", os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, b"synced")
        os.fsync(fd)
        os.fdatasync(fd)
        os.close(fd)
        st = os.statvfs(M)
        print(json.dumps([st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize,
                          st.f_files, st.f_namemax]))
    """, M=m)
    assert (b / "f").read_bytes() == b"synced"
    real = os.statvfs(b)
    assert out[0] == real.f_blocks * real.f_frsize
    assert abs(out[1] - real.f_bavail * real.f_frsize) < 256 << 20  # others write too
    assert out[2] == real.f_files and out[3] == real.f_namemax


def test_lsetstat_changes_the_link_not_its_target(sd):
    m, b = sd
    (b / "target").write_text("t")
    os.symlink("target", b / "link")
    for p in ("target", "link"):
        backend_chown(b / p)
    os.utime(b / "target", (1500000000, 1500000000))
    run_py("""
        os.utime(f"{M}/link", (1000000000, 1100000000), follow_symlinks=False)
    """, M=m)
    assert os.lstat(b / "link").st_mtime == 1100000000
    assert os.lstat(b / "link").st_atime == 1000000000
    assert os.stat(b / "target").st_mtime == 1500000000


# --- open flags, truncate, times, modes, owners --------------------------------

def test_open_flags(sd):
    m, b = sd
    (b / "late").write_bytes(b"server's")  # appears behind the mount's back
    out = run_py("""
        r = {}
        p = f"{M}/new"
        r["late_excl"] = err(os.open, f"{M}/late", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        os.write(fd, b"abcdef")
        r["read_on_wronly"] = err(os.read, fd, 1)
        os.close(fd)
        r["excl_again"] = err(os.open, p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        r["mode"] = oct(os.stat(p).st_mode & 0o777)
        fd = os.open(p, os.O_RDONLY)
        r["write_on_rdonly"] = err(os.write, fd, b"x")
        r["rdonly"] = os.read(fd, 100).decode()
        os.close(fd)
        fd = os.open(p, os.O_RDWR)
        os.pwrite(fd, b"XY", 2)
        r["rdwr"] = os.pread(fd, 100, 0).decode()
        os.close(fd)
        fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
        r["after_trunc"] = os.fstat(fd).st_size
        os.write(fd, b"12")
        os.close(fd)
        a = os.open(p, os.O_WRONLY | os.O_APPEND)
        c = os.open(p, os.O_WRONLY | os.O_APPEND)
        os.write(a, b"a")
        os.write(c, b"c")
        os.pwrite(a, b"P", 0)   # Linux: O_APPEND wins over the offset
        os.close(a)
        os.close(c)
        r["appended"] = get(p).decode()
        r["creat_existing"] = err(os.open, p, os.O_WRONLY | os.O_CREAT, 0o600)
        r["enoent"] = err(os.open, f"{M}/missing", os.O_RDONLY)
        print(json.dumps(r))
    """, M=m)
    assert out == {
        "late_excl": "EEXIST", "read_on_wronly": "EBADF", "excl_again": "EEXIST",
        "mode": "0o640", "write_on_rdonly": "EBADF", "rdonly": "abcdef",
        "rdwr": "abXYef", "after_trunc": 0, "appended": "12acP",
        "creat_existing": 0, "enoent": "ENOENT",
    }
    assert (b / "new").read_bytes() == b"12acP"
    assert (b / "late").read_bytes() == b"server's"


def test_appends_stay_appends_with_many_writers(sd):
    """Threads sharing one O_APPEND fd and a second process with its own:
    every record lands whole, none overwrites another."""
    m, b = sd
    code = """
        fd = os.open(f"{M}/log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        def writer(t):
            for i in range(40):
                rec = f"{TAG}-{t:02d}-{i:03d}".ljust(63, ".") + "\\n"
                assert os.write(fd, rec.encode()) == 64
        ts = [threading.Thread(target=writer, args=(t,)) for t in range(6)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        os.close(fd)
    """
    procs = [labmod.popen_as_user(["/usr/bin/python3", "-c",
                                   PRELUDE + f"M = {m!r}; TAG = {tag!r}\n" + dedent(code)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for tag in ("A", "B")]
    for p in procs:
        _, errout = p.communicate(timeout=120)
        assert p.returncode == 0, errout
    data = (b / "log").read_bytes()
    assert len(data) == 2 * 6 * 40 * 64
    lines = data.decode().splitlines()
    expected = {f"{tag}-{t:02d}-{i:03d}".ljust(63, ".")
                for tag in "AB" for t in range(6) for i in range(40)}
    assert set(lines) == expected and len(lines) == len(expected)


def test_truncate_and_ftruncate(sd):
    m, b = sd
    out = run_py("""
        p = f"{M}/t"
        put(p, b"x" * 10000)
        os.truncate(p, 100)
        r = [os.stat(p).st_size]
        fd = os.open(p, os.O_RDWR)
        os.ftruncate(fd, 5000)
        r.append(os.fstat(fd).st_size)
        d = os.pread(fd, 5000, 0)
        r.append(d == b"x" * 100 + bytes(4900))
        os.ftruncate(fd, 0)
        r.append(os.pread(fd, 10, 0).decode())
        os.close(fd)
        r.append(err(os.truncate, f"{M}/missing", 0))
        print(json.dumps(r))
    """, M=m)
    assert out == [100, 5000, True, "", "ENOENT"]
    assert (b / "t").stat().st_size == 0


UTIMENSAT = """
class timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]
UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2
libc = ctypes.CDLL(None, use_errno=True)
def utimensat(path, a, m):
    ts = (timespec * 2)(timespec(*a), timespec(*m))
    if libc.utimensat(-100, path.encode(), ts, 0) != 0:
        raise OSError(ctypes.get_errno(), "utimensat")
"""


def test_utimens_now_and_omit(sd):
    m, b = sd
    (b / "f").write_text("x")
    backend_chown(b / "f")
    os.utime(b / "f", (1000000000, 1100000000))
    before = int(time.time())
    out = run_py(UTIMENSAT + dedent("""
        p = f"{M}/f"
        utimensat(p, (0, UTIME_OMIT), (1200000000, 0))       # atime kept
        s1 = os.stat(p)
        utimensat(p, (1300000000, 0), (0, UTIME_OMIT))       # mtime kept
        s2 = os.stat(p)
        utimensat(p, (0, UTIME_OMIT), (0, UTIME_NOW))        # mtime now
        s3 = os.stat(p)
        utimensat(p, (0, UTIME_OMIT), (0, UTIME_OMIT))       # nothing
        os.utime(p, ns=(1400000000_123456789, 1500000000_987654321))
        s4 = os.stat(p)
        print(json.dumps([[s.st_atime, s.st_mtime] for s in (s1, s2, s3, s4)]))
    """), M=m)
    after = int(time.time())
    assert out[0] == [1000000000, 1200000000]
    assert out[1] == [1300000000, 1200000000]
    assert out[2][0] == 1300000000 and before - 1 <= out[2][1] <= after + 1
    assert out[3] == [1400000000, 1500000000]  # whole seconds: SFTP v3
    st = os.stat(b / "f")
    assert (st.st_atime, st.st_mtime) == (1400000000, 1500000000)


def test_chmod_and_chown(sd):
    m, b = sd
    (b / "rootfile").write_text("r")  # owned by root: not ours to change
    out = run_py("""
        p = f"{M}/f"
        put(p, b"x")
        os.chmod(p, 0o640)
        r = {"mode": oct(stat.S_IMODE(os.stat(p).st_mode))}
        os.chmod(p, 0o4755)
        r["suid"] = oct(stat.S_IMODE(os.stat(p).st_mode))
        st = os.stat(p)
        r["chown_same"] = err(os.chown, p, st.st_uid, st.st_gid)
        # as on Linux, chown by the owner drops set-user-ID
        r["after_chown"] = oct(stat.S_IMODE(os.stat(p).st_mode))
        r["chown_keep"] = err(os.chown, p, -1, -1)
        r["chown_root"] = err(os.chown, p, 0, -1)
        r["chgrp_root"] = err(os.chown, p, -1, 0)
        r["chmod_others"] = err(os.chmod, f"{M}/rootfile", 0o777)
        r["utime_others"] = err(os.utime, f"{M}/rootfile", (1, 1))
        print(json.dumps(r))
    """, M=m)
    assert out == {"mode": "0o640", "suid": "0o4755", "chown_same": 0,
                   "after_chown": "0o755", "chown_keep": 0,
                   "chown_root": "EPERM", "chgrp_root": "EPERM",
                   "chmod_others": "EPERM", "utime_others": "EPERM"}
    assert stat.S_IMODE((b / "f").stat().st_mode) == 0o755
    assert (b / "f").stat().st_uid == (b / "f").parent.stat().st_uid


# --- sizes --------------------------------------------------------------------

def test_files_over_4_gib_and_holes(sd):
    m, b = sd
    out = run_py("""
        p = f"{M}/big"
        fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
        os.pwrite(fd, b"END", 5 * GIB)
        os.pwrite(fd, b"<4G>", 4 * GIB - 2)          # across 2^32
        r = {"size": os.fstat(fd).st_size, "stat": os.stat(p).st_size,
             "end": os.pread(fd, 16, 5 * GIB - 2).hex(),
             "across": os.pread(fd, 4, 4 * GIB - 2).decode(),
             "hole": os.pread(fd, 65536, 3 * GIB) == bytes(65536),
             "hole2": os.pread(fd, 8, 4 * GIB + 1000) == bytes(8),
             "past_eof": os.pread(fd, 10, 6 * GIB).hex()}
        os.close(fd)
        fd = os.open(p, os.O_RDONLY)
        os.lseek(fd, 5 * GIB, os.SEEK_SET)
        r["seq"] = os.read(fd, 100).decode()
        os.close(fd)
        print(json.dumps(r))
    """, M=m, GIB=GIB)
    assert out == {"size": 5 * GIB + 3, "stat": 5 * GIB + 3, "end": "0000454e44",
                   "across": "<4G>", "hole": True, "hole2": True, "past_eof": "",
                   "seq": "END"}
    st = os.stat(b / "big")
    assert st.st_size == 5 * GIB + 3
    assert st.st_blocks * 512 < 1 << 20  # still sparse on the server
    with open(b / "big", "rb") as f:
        f.seek(4 * GIB - 2)
        assert f.read(4) == b"<4G>"


def test_zero_length_files(sd):
    m, b = sd
    out = run_py("""
        p = f"{M}/empty"
        open(p, "wb").close()
        r = [os.stat(p).st_size, get(p).decode()]
        fd = os.open(p, os.O_RDWR)
        r.append(os.read(fd, 10).decode())
        r.append(os.pread(fd, 10, 1000).decode())
        os.close(fd)
        put(f"{M}/full", b"data")
        os.truncate(f"{M}/full", 0)
        r.append(get(f"{M}/full").decode())
        print(json.dumps(r))
    """, M=m)
    assert out == [0, "", "", "", ""]
    assert (b / "empty").stat().st_size == 0 and (b / "full").stat().st_size == 0


# --- names, links ---------------------------------------------------------------

NAMES = ["with space", "  lead and trail  ", "ünïcødé ☃ 日本語", "new\nline", "tab\there",
         "quote'\"", "star*?[x]", "-dash", "a" * 255]


def test_names_with_spaces_utf8_and_newlines(sd):
    m, b = sd
    out = run_py("""
        for n in NAMES:
            put(f"{M}/{n}", n.encode())
        os.mkdir(f"{M}/dir ☃\\nx")
        put(f"{M}/dir ☃\\nx/in side", b"deep")
        r = {"listed": sorted(os.listdir(M)),
             "contents": all(get(f"{M}/{n}") == n.encode() for n in NAMES),
             "deep": get(f"{M}/dir ☃\\nx/in side").decode(),
             "too_long": err(open, f"{M}/" + "b" * 256, "w")}
        os.rename(f"{M}/new\\nline", f"{M}/dir ☃\\nx/moved\\n☃")
        r["moved"] = sorted(os.listdir(f"{M}/dir ☃\\nx"))
        print(json.dumps(r))
    """, M=m, NAMES=NAMES)
    assert out["listed"] == sorted(NAMES + ["dir ☃\nx"])
    assert out["contents"] and out["deep"] == "deep"
    assert out["too_long"] == "ENAMETOOLONG"
    assert out["moved"] == sorted(["in side", "moved\n☃"])
    assert sorted(os.listdir(b)) == sorted(set(NAMES + ["dir ☃\nx"]) - {"new\nline"})
    assert (b / "dir ☃\nx" / "moved\n☃").read_text() == "new\nline"


def test_symlinks_relative_and_absolute(sd):
    m, b = sd
    out = run_py("""
        put(f"{M}/target", b"pointed at")
        os.mkdir(f"{M}/sub")
        os.symlink("target", f"{M}/rel")
        os.symlink("../target", f"{M}/sub/up")
        os.symlink(f"{B}/target", f"{M}/abs")
        os.symlink("nowhere/at/all", f"{M}/dangling")
        os.symlink("/nowhere/at/all", f"{M}/outside")
        r = {"rel": [os.readlink(f"{M}/rel"), get(f"{M}/rel").decode()],
             "up": [os.readlink(f"{M}/sub/up"), get(f"{M}/sub/up").decode()],
             "abs": [os.readlink(f"{M}/abs"), get(f"{M}/abs").decode()],
             "dangling": [os.readlink(f"{M}/dangling"), err(os.stat, f"{M}/dangling")],
             "outside": [err(os.readlink, f"{M}/outside"), err(os.stat, f"{M}/outside")],
             "lstat": stat.S_ISLNK(os.lstat(f"{M}/rel").st_mode),
             "eexist": err(os.symlink, "x", f"{M}/rel"),
             "einval": err(os.readlink, f"{M}/target")}
        print(json.dumps(r))
    """, M=m, B=str(b))
    # Contained by default: an absolute link into the mount shows relative,
    # one out of it reads as EPERM; the server keeps what was written.
    assert out == {"rel": ["target", "pointed at"], "up": ["../target", "pointed at"],
                   "abs": [f"../{b.name}/target", "pointed at"],
                   "dangling": ["nowhere/at/all", "ENOENT"],
                   "outside": ["EPERM", "EPERM"],
                   "lstat": True, "eexist": "EEXIST", "einval": "EINVAL"}
    assert os.readlink(b / "sub" / "up") == "../target"
    assert os.readlink(b / "abs") == f"{b}/target"
    assert os.readlink(b / "outside") == "/nowhere/at/all"


@pytest.fixture
def links_on_backend():
    """A scratch directory with links: relative, absolute inside the
    backend home, absolute elsewhere, dangling."""
    name = make_scratch()
    b = BACKEND_HOME / name
    (b / "target").write_text("pointed at\n")
    (b / "sub").mkdir()
    os.symlink("target", b / "rel")
    os.symlink(f"{b}/target", b / "sub" / "abs")
    os.symlink(str(BACKEND_HOME), b / "home")
    os.symlink("/etc/hostname", b / "outside")
    os.symlink("nothing", b / "dangling")
    os.symlink("../../..", b / "sub" / "up3")       # out of the mount
    os.symlink("../sub/..", b / "sub" / "roundabout")  # ".." after a directory
    os.symlink(".", b / "dot")
    os.symlink("dot/../..", b / "via-link")  # ".." after a link: leaves the mount
    for p in ("target", "sub", "rel", "sub/abs", "home", "outside", "dangling",
              "sub/up3", "sub/roundabout", "dot", "via-link"):
        backend_chown(b / p)
    yield name
    remove_scratch(name)


LINKS = ("rel", "sub/abs", "home", "outside", "dangling", "sub/up3", "sub/roundabout",
         "via-link")


def test_symlinks_are_contained_by_default(mount, links_on_backend):
    name = links_on_backend
    out = run_py("""
        d = f"{M}/{N}"
        print(json.dumps({l: err(os.readlink, f"{d}/{l}") or os.readlink(f"{d}/{l}")
                          for l in LINKS} | {"via": get(f"{d}/sub/abs").decode()}))
    """, M=str(mount[0]), N=name, LINKS=LINKS)
    # Relative links that stay inside pass, absolute ones into the mount
    # show relative, every other one reads as EPERM.
    assert out == {"rel": "target", "sub/abs": f"../../{name}/target", "home": "..",
                   "outside": "EPERM", "dangling": "nothing", "sub/up3": "EPERM",
                   "sub/roundabout": "../sub/..", "via-link": "EPERM",
                   "via": "pointed at\n"}


def test_no_contain_symlinks_shows_them_as_stored(lab_up, jumpfs_bin, pytestconfig,
                                                  links_on_backend):
    name = links_on_backend
    with own_mount(jumpfs_bin, pytestconfig, "no_contain_symlinks") as (m, _):
        out = run_py("""
            d = f"{M}/{N}"
            print(json.dumps({l: os.readlink(f"{d}/{l}") for l in LINKS}))
        """, M=str(m), N=name, LINKS=LINKS)
    b = BACKEND_HOME / name
    assert out == {l: os.readlink(b / l) for l in LINKS}


def test_transform_symlinks(lab_up, jumpfs_bin, pytestconfig, links_on_backend):
    name = links_on_backend
    with own_mount(jumpfs_bin, pytestconfig, "no_contain_symlinks,transform_symlinks") as (m, _):
        out = run_py("""
            d = f"{M}/{N}"
            print(json.dumps({l: os.readlink(f"{d}/{l}") for l in
                              ("rel", "sub/abs", "home", "outside", "dangling")}
                             | {"via": get(f"{d}/sub/abs").decode()}))
        """, M=str(m), N=name)
    # The mount shows the backend home: absolute links into it become
    # relative ones that resolve inside the mount; others stay.
    assert out == {"rel": "target", "sub/abs": f"../../{name}/target", "home": "..",
                   "outside": "/etc/hostname", "dangling": "nothing",
                   "via": "pointed at\n"}


def test_follow_symlinks(lab_up, jumpfs_bin, pytestconfig, links_on_backend):
    name = links_on_backend
    with own_mount(jumpfs_bin, pytestconfig, "follow_symlinks") as (m, _):
        out = run_py("""
            d = f"{M}/{N}"
            r = {}
            for l in ("rel", "sub/abs", "home", "dangling"):
                st = os.lstat(f"{d}/{l}")
                r[l] = [stat.S_ISLNK(st.st_mode), stat.S_ISDIR(st.st_mode), st.st_size]
            print(json.dumps(r))
        """, M=str(m), N=name)
    size = len("pointed at\n")
    assert out["rel"] == [False, False, size]
    assert out["sub/abs"] == [False, False, size]
    assert out["home"][:2] == [False, True]
    assert out["dangling"][:2] == [True, False]  # shown as the link it is


# --- owners and permissions --------------------------------------------------------

def _owners(m, name):
    return run_py("""
        st = [os.stat(f"{M}/{N}/{f}") for f in ("mine", "rootfile")]
        print(json.dumps([[s.st_uid, s.st_gid] for s in st]))
    """, M=str(m), N=name)


@pytest.fixture
def owned_files():
    name = make_scratch()
    b = BACKEND_HOME / name
    (b / "mine").write_text("mine\n")
    (b / "mine").chmod(0o600)
    backend_chown(b / "mine")
    (b / "rootfile").write_text("root's\n")
    (b / "rootfile").chmod(0o644)
    yield name
    remove_scratch(name)


def test_idmap_user_is_the_default(mount, owned_files):
    import pwd
    me = pwd.getpwnam(labmod.JFS_USER)
    remote = pwd.getpwnam(labmod.BACKEND.user)
    assert me.pw_uid != remote.pw_uid
    m = mount[0]
    owners = _owners(m, owned_files)
    # chown to oneself sends the remote login user back; chgrp to one's
    # own group sends the remote login user's group, not a foreign gid.
    out = run_py("""
        p = f"{M}/{N}/mine"
        print(json.dumps([err(os.chown, p, UID, GID), err(os.chown, p, -1, GID),
                          err(os.chown, p, 0, -1)]))
    """, M=str(m), N=owned_files, UID=me.pw_uid, GID=me.pw_gid)
    # Without allow_other, other owners show as they are (as sshfs).
    assert owners == [[me.pw_uid, me.pw_gid], [0, 0]]
    assert out == [0, 0, "EPERM"]
    st = os.stat(BACKEND_HOME / owned_files / "mine")
    assert (st.st_uid, st.st_gid) == (remote.pw_uid, remote.pw_gid)


def test_idmap_none_shows_the_servers_numbers(lab_up, jumpfs_bin, pytestconfig, owned_files):
    import pwd
    remote = pwd.getpwnam(labmod.BACKEND.user)
    with own_mount(jumpfs_bin, pytestconfig, "idmap=none") as (m, _):
        owners = _owners(m, owned_files)
    assert owners == [[remote.pw_uid, remote.pw_gid], [0, 0]]


def test_login_user_comes_from_the_login_directory(lab_up, jumpfs_bin, pytestconfig):
    # server3:/ is owned by root; the login user is still the owner of
    # the login directory: root's files must not become ours.
    import pwd
    me = pwd.getpwnam(labmod.JFS_USER)
    with own_mount(jumpfs_bin, pytestconfig, source=f"{labmod.SERVER3}:/") as (m, _):
        out = run_py("""
            print(json.dumps([[s.st_uid, s.st_gid] for s in
                              (os.stat(M), os.stat(f"{M}/etc"), os.stat(f"{M}{HOME}"))]))
        """, M=str(m), HOME=str(BACKEND_HOME))
    assert out == [[0, 0], [0, 0], [me.pw_uid, me.pw_gid]]


def test_uid_and_gid_options(lab_up, jumpfs_bin, pytestconfig, owned_files):
    with own_mount(jumpfs_bin, pytestconfig, "uid=4242,gid=4343") as (m, _):
        owners = _owners(m, owned_files)
    assert owners == [[4242, 4343], [4242, 4343]]


def test_access_checks_the_modes_shown(sd):
    m, b = sd
    (b / "rootfile").write_text("root's\n")
    (b / "rootfile").chmod(0o644)
    (b / "rw").write_text("x")
    (b / "rw").chmod(0o666)
    backend_chown(b / "rw")
    (b / "run").write_text("x")
    (b / "run").chmod(0o700)
    backend_chown(b / "run")
    out = run_py("""
        a = lambda n, m: os.access(f"{M}/{n}", m)
        print(json.dumps([a("rootfile", os.R_OK), a("rootfile", os.W_OK),
                          a("rw", os.R_OK | os.W_OK), a("rw", os.X_OK),
                          a("run", os.X_OK), a("nothing", os.F_OK),
                          err(os.open, f"{M}/rootfile", os.O_WRONLY)]))
    """, M=m)
    # As the kernel would answer: root's 0644 file is readable, not
    # writable; 0666 is not executable (sshfs's tst_access); and the
    # server agrees when it comes to opening.
    assert out == [True, False, True, False, True, False, "EACCES"]


def test_allow_other_implies_default_permissions(lab_up, jumpfs_bin, pytestconfig,
                                                 owned_files):
    assert "user_allow_other" in Path("/etc/fuse.conf").read_text()
    with own_mount(jumpfs_bin, pytestconfig, "allow_other") as (m, _):
        options = [line.split()[3] for line in open("/proc/mounts")
                   if line.split()[1] == str(m)][0].split(",")
        out = run_py("""
            d = f"{M}/{N}"
            print(json.dumps([get(f"{d}/mine").decode(), get(f"{d}/rootfile").decode()]))
        """, M=str(m), N=owned_files)
        owners = _owners(m, owned_files)
        # allow_other: another user (root here) may look in
        as_root = sorted(os.listdir(m / owned_files))
        root_reads = (m / owned_files / "mine").read_text()
    assert "default_permissions" in options
    assert out == ["mine\n", "root's\n"]
    import pwd
    me = pwd.getpwnam(labmod.JFS_USER)
    # Foreign owners show as the overflow ids (nobody), so that no local
    # user gains rights by a numeric coincidence.
    assert owners == [[me.pw_uid, me.pw_gid], [65534, 65534]]
    assert as_root == ["mine", "rootfile"]
    assert root_reads == "mine\n"


def test_other_users_are_kept_out_without_allow_other(mount):
    with pytest.raises(PermissionError):
        os.listdir(mount[0])


# --- errors ------------------------------------------------------------------------

def test_errors(sd):
    m, b = sd
    (b / "locked").mkdir(mode=0o755)  # root's: the remote user cannot write in it
    (b / "locked" / "f").write_text("x")
    (b / "secret").write_text("s")
    (b / "secret").chmod(0o600)       # root's
    out = run_py("""
        os.mkdir(f"{M}/d")
        put(f"{M}/d/f", b"x")
        os.mkdir(f"{M}/e")
        put(f"{M}/file", b"x")
        r = {
            "stat_missing": err(os.stat, f"{M}/missing"),
            "unlink_missing": err(os.unlink, f"{M}/missing"),
            "rmdir_missing": err(os.rmdir, f"{M}/missing"),
            "rename_missing": err(os.rename, f"{M}/missing", f"{M}/x"),
            "mkdir_in_missing": err(os.mkdir, f"{M}/missing/d"),
            "read_secret": err(open, f"{M}/secret", "rb"),
            "create_in_locked": err(open, f"{M}/locked/new", "wb"),
            "unlink_in_locked": err(os.unlink, f"{M}/locked/f"),
            "mkdir_in_locked": err(os.mkdir, f"{M}/locked/d"),
            "mkdir_exists": err(os.mkdir, f"{M}/d"),
            "mkdir_over_file": err(os.mkdir, f"{M}/file"),
            "symlink_exists": err(os.symlink, "x", f"{M}/file"),
            "rmdir_full": err(os.rmdir, f"{M}/d"),
            "rename_dir_over_full": err(os.rename, f"{M}/e", f"{M}/d"),
            "rmdir_file": err(os.rmdir, f"{M}/file"),
            "unlink_dir": err(os.unlink, f"{M}/d"),
            "open_dir_for_write": err(os.open, f"{M}/d", os.O_WRONLY),
            "file_as_dir": err(os.stat, f"{M}/file/x"),
            "rename_file_over_dir": err(os.rename, f"{M}/file", f"{M}/e"),
            "rename_dir_over_file": err(os.rename, f"{M}/e", f"{M}/file"),
        }
        print(json.dumps(r))
    """, M=m)
    assert out == {
        "stat_missing": "ENOENT", "unlink_missing": "ENOENT", "rmdir_missing": "ENOENT",
        "rename_missing": "ENOENT", "mkdir_in_missing": "ENOENT",
        "read_secret": "EACCES", "create_in_locked": "EACCES",
        "unlink_in_locked": "EACCES", "mkdir_in_locked": "EACCES",
        "mkdir_exists": "EEXIST", "mkdir_over_file": "EEXIST", "symlink_exists": "EEXIST",
        "rmdir_full": "ENOTEMPTY", "rename_dir_over_full": "ENOTEMPTY",
        "rmdir_file": "ENOTDIR", "unlink_dir": "EISDIR", "open_dir_for_write": "EISDIR",
        "file_as_dir": "ENOTDIR", "rename_file_over_dir": "EISDIR",
        "rename_dir_over_file": "ENOTDIR",
    }
    assert (b / "d" / "f").exists() and (b / "locked" / "f").exists()


def test_read_only_remote_file_system_is_erofs(sd):
    m, b = sd
    with backend_tmpfs(b / "ro", "ro,size=64k"):
        out = run_py("""
            d = f"{M}/ro"
            print(json.dumps([err(open, f"{d}/new", "wb"), err(os.mkdir, f"{d}/dir"),
                              err(os.symlink, "x", f"{d}/link"), err(os.chmod, d, 0o700),
                              sorted(os.listdir(d))]))
        """, M=m)
    assert out == ["EROFS", "EROFS", "EROFS", "EROFS", []]


def test_full_remote_file_system_is_enospc(sd):
    """ENOSPC, not EIO. Writes are queued (write-behind): the error reaches
    the writer by a later write, or by fsync or close at the latest, and
    what an fsync confirmed is on the server."""
    m, b = sd
    with backend_tmpfs(b / "full", "size=1m"):
        out = run_py("""
            d = f"{M}/full"
            st = os.statvfs(d)
            r = {"total": st.f_blocks * st.f_frsize}
            fd = os.open(f"{d}/fill", os.O_WRONLY | os.O_CREAT, 0o644)
            os.write(fd, b"s" * 100000)
            r["first_fsync"] = err(os.fsync, fd)
            written, error = 100000, None
            while written < 4 << 20:
                try:
                    written += os.write(fd, b"z" * 40000)
                except OSError as e:
                    error = errno.errorcode[e.errno]
                    break
            r["written"], r["write_error"] = written, error
            r["fsync"] = err(os.fsync, fd)
            r["close"] = err(os.close, fd)
            st = os.statvfs(d)
            r["free"] = st.f_bavail * st.f_frsize
            print(json.dumps(r))
        """, M=m)
        head = subprocess.run(
            ["nsenter", "-t", str(_a_backend_pid()), "-m", "head", "-c", "100000",
             str(b / "full" / "fill")], capture_output=True, check=True).stdout
    assert out["total"] == 1 << 20
    assert out["first_fsync"] == 0
    # Reported by a write once a failure came back, else by fsync.
    first = out["write_error"] or out["fsync"]
    assert first == "ENOSPC", out
    assert out["close"] in (0, "ENOSPC"), out
    assert out["free"] < 40000
    assert head == b"s" * 100000


def _a_backend_pid():
    from semantics import _backend_namespaces
    return next(iter(_backend_namespaces().values()))


# --- big directories -------------------------------------------------------------

def _rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_directory_of_100000_entries_streams(mount, pytestconfig):
    m, pid = mount
    # ASan keeps freed memory in quarantine (256 MiB): RSS says nothing then.
    check_rss = not pytestconfig.getoption("--sanitized")
    name = make_scratch("jfs-bigdir-")
    b = BACKEND_HOME / name
    try:
        for n in (10000, 100000):
            d = b / f"d{n}"
            d.mkdir()
            for i in range(n):
                os.close(os.open(d / f"entry-{i:06d}", os.O_CREAT | os.O_WRONLY, 0o644))
        listing = """
            n = 0
            names = set()
            with os.scandir(D) as it:
                for e in it:
                    n += 1
                    if n % 997 == 0:
                        names.add(e.name)
            print(json.dumps([n, len(names)]))
        """
        assert run_py(listing, D=f"{m}/{name}/d10000") == [10000, 10]
        rss_10k = _rss_kib(pid)
        start = time.monotonic()
        assert run_py(listing, D=f"{m}/{name}/d100000") == [100000, 100]
        elapsed = time.monotonic() - start
        assert run_py(listing, D=f"{m}/{name}/d100000") == [100000, 100]
        rss_100k = _rss_kib(pid)
        # Keeping the listing would cost ~14 MiB (10k entries cost ~1.4 MiB
        # in the listing cache); streaming stays within a few MiB.
        if check_rss:
            assert rss_100k - rss_10k < 6 * 1024, (rss_10k, rss_100k)
        assert elapsed < 60
        # and the entries are all there, in a listing by a plain tool
        out = jfs.sh(f"ls -f '{m}/{name}/d100000' | wc -l")
        assert int(out) == 100002  # with . and ..
    finally:
        remove_scratch(name)


def test_what_sftp_v3_cannot_do(sd):
    """No special files, no xattrs, no ctime, link counts only as
    learnt (from a listing or a link through the mount), access(2) answers
    from the modes shown: as docs/posix.md says."""
    m, b = sd
    out = run_py("""
        put(f"{M}/f", b"x")
        os.link(f"{M}/f", f"{M}/g")
        os.utime(f"{M}/f", (1000000000, 1100000000))
        st = os.stat(f"{M}/f")
        os.chmod(f"{M}/g", 0)
        print(json.dumps({
            "mkfifo": err(os.mkfifo, f"{M}/fifo"),
            "mknod": err(os.mknod, f"{M}/sock", 0o600 | stat.S_IFSOCK),
            "getxattr": err(os.getxattr, f"{M}/f", "user.x"),
            "setxattr": err(os.setxattr, f"{M}/f", "user.x", b"1"),
            "nlink": st.st_nlink, "ctime_is_mtime": st.st_ctime == st.st_mtime,
            "access_000": os.access(f"{M}/g", os.R_OK), "open_000": err(get, f"{M}/g"),
        }))
    """, M=m)
    assert out == {"mkfifo": "EPERM", "mknod": "EPERM", "getxattr": "ENOTSUP",
                   "setxattr": "ENOTSUP", "nlink": 2, "ctime_is_mtime": True,
                   "access_000": False, "open_000": "EACCES"}
    assert os.stat(b / "f").st_nlink == 2
    assert sorted(os.listdir(b)) == ["f", "g"]


# --- mmap, locks, caching ----------------------------------------------------------

def test_mmap_shared_writes_reach_the_server(sd):
    m, b = sd
    out = run_py("""
        import mmap
        p = f"{M}/mapped"
        put(p, b"." * 8192)
        fd = os.open(p, os.O_RDWR)
        mm = mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        mm[0:5] = b"hello"
        mm[8000:8005] = b"world"
        mm.flush()
        r = [mm[0:5].decode()]
        mm.close()
        os.close(fd)
        fd = os.open(p, os.O_RDONLY)
        mm = mmap.mmap(fd, 0, mmap.MAP_PRIVATE, mmap.PROT_READ)
        r.append(mm[8000:8005].decode())
        mm.close()
        os.close(fd)
        print(json.dumps(r))
    """, M=m)
    assert out == ["hello", "world"]
    data = (b / "mapped").read_bytes()
    assert data[:5] == b"hello" and data[8000:8005] == b"world" and len(data) == 8192


def test_locks_are_local_to_this_machine(sd):
    """flock/fcntl locks work between processes on this machine (the
    kernel keeps them), but the server never hears of them."""
    import fcntl
    m, b = sd
    (b / "lockfile").write_text("")
    backend_chown(b / "lockfile")
    holder = labmod.popen_as_user(
        ["/usr/bin/python3", "-c",
         "import fcntl, os, sys, time\n"
         f"fd = os.open({m + '/lockfile'!r}, os.O_RDWR)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\n"
         "fcntl.lockf(fd, fcntl.LOCK_EX)\n"
         "print('locked', flush=True)\n"
         "sys.stdin.read()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == "locked"
        out = run_py("""
            import fcntl
            fd = os.open(f"{M}/lockfile", os.O_RDWR)
            print(json.dumps([err(fcntl.flock, fd, fcntl.LOCK_EX | fcntl.LOCK_NB),
                              err(fcntl.lockf, fd, fcntl.LOCK_EX | fcntl.LOCK_NB)]))
        """, M=m)
        assert out == ["EWOULDBLOCK", "EAGAIN"] or out == ["EAGAIN", "EAGAIN"]
        # On the server the file is not locked at all.
        with open(b / "lockfile", "r+") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)


def test_changes_through_the_mount_show_at_once(sd):
    m, b = sd
    out = run_py("""
        r = [sorted(os.listdir(M))]
        put(f"{M}/a", b"1")
        r.append(sorted(os.listdir(M)))
        put(f"{M}/a", b"12345", "ab")
        r.append(os.stat(f"{M}/a").st_size)
        os.rename(f"{M}/a", f"{M}/b")
        r.append(sorted(os.listdir(M)))
        os.unlink(f"{M}/b")
        r.append(sorted(os.listdir(M)))
        print(json.dumps(r))
    """, M=m)
    assert out == [[], ["a"], 6, ["b"], []]


def test_remote_changes_show_within_cache_timeout(lab_up, jumpfs_bin, pytestconfig):
    name = make_scratch()
    b = BACKEND_HOME / name
    try:
        (b / "f").write_text("one")
        with own_mount(jumpfs_bin, pytestconfig, "cache_timeout=1") as (m, _):
            code = """
                print(json.dumps([sorted(os.listdir(f"{M}/{N}")), os.stat(f"{M}/{N}/f").st_size,
                                  get(f"{M}/{N}/f").decode()]))
            """
            first = run_py(code, M=str(m), N=name)
            (b / "f").write_text("three")
            (b / "g").write_text("")
            time.sleep(1.5)
            second = run_py(code, M=str(m), N=name)
        assert first == [["f"], 3, "one"]
        assert second == [["f", "g"], 5, "three"]
    finally:
        remove_scratch(name)


def test_readahead_never_returns_stale_data(sd):
    """A reader far into a file (read-ahead running) and writes through
    another fd and through its own, then reads of what was written."""
    m, b = sd
    out = run_py("""
        p = f"{M}/ra"
        put(p, bytes(range(256)) * 16384)            # 4 MiB
        r = os.open(p, os.O_RDONLY)
        w = os.open(p, os.O_RDWR)
        a = os.open(p, os.O_WRONLY | os.O_APPEND)
        bad = []
        off = 0
        for i in range(24):
            if len(os.pread(r, 65536, off)) != 65536:
                bad.append(["short", off])
            off += 65536
            # ahead of the reader: inside its read-ahead window
            mark = bytes([i]) * 1000
            os.pwrite(w, mark, off + 70000 + i)
            got = os.pread(r, 1000, off + 70000 + i)
            if got != mark:
                bad.append(["other fd", i])
            os.pwrite(w, mark[::-1][:7] + b"!", off + 1)
            if os.pread(w, 8, off + 1) != mark[:7] + b"!":
                bad.append(["same fd", i])
        size = os.fstat(r).st_size
        os.write(a, b"TAIL")
        if os.pread(r, 100, size - 4) != get(p)[size - 4:]:
            bad.append(["append", size])
        if os.fstat(r).st_size != size + 4:
            bad.append(["size", os.fstat(r).st_size])
        print(json.dumps(bad))
    """, M=m)
    assert out == []


# --- the random I/O verifier ---------------------------------------------------------

def test_fsx_random_io(sd, sanitized):
    m, b = sd
    # Sanitized, a quarter of the operations: the same code, 2x slower per op.
    ops = int(os.environ.get("JUMPFS_FSX_OPS", "5000" if sanitized else "20000"))
    seed = int(os.environ.get("JUMPFS_FSX_SEED", str(int(time.time()) & 0xffff)))
    # A copy the lab user can read wherever the repository is.
    script = Path(f"/tmp/jumpfs-fsx-{os.getpid()}.py")
    shadow = Path(f"/tmp/jumpfs-fsx-shadow-{os.getpid()}")
    shutil.copy(HERE / "fsx.py", script)
    script.chmod(0o644)
    try:
        proc = labmod.as_user(["/usr/bin/python3", str(script), f"{m}/fsx.dat", "--ops",
                               str(ops), "--seed", str(seed), "--shadow", str(shadow)],
                              timeout=900)
    finally:
        script.unlink(missing_ok=True)
        shadow.unlink(missing_ok=True)
    assert proc.returncode == 0, f"fsx failed (seed {seed}):\n{proc.stdout}\n{proc.stderr}"
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["ops"] >= ops and summary["mismatches"] == 0
    assert (b / "fsx.dat").stat().st_size == summary["size"]
    print(f"fsx: {summary}")
