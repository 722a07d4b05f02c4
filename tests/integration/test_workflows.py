"""Everyday tools on a jumpfs mount through the 2-hop lab, as the lab user:
vim with its backup/swap/rename dance, sed -i, write-a-temp-file-and-rename,
git, rsync (in, out, --inplace), cp -a, tar x and tar c. Results are
compared byte for byte, with modes, mtimes and link targets, against the
source and against the backend's files.
"""

import hashlib
import os
import pwd
import random
import shutil
import stat
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

import jfs
import lab as labmod
from semantics import (BACKEND_HOME, backend_chown, make_scratch, own_mount, remove_scratch,
                       run_py)


@pytest.fixture(scope="module")
def lab_up(request):
    """The lab, without a `lab restore` after every test (no faults here)."""
    return request.getfixturevalue("lab")


@pytest.fixture(scope="module")
def mount(lab_up, jumpfs_bin, pytestconfig):
    """With the default options: git (which refuses a repository owned by
    someone else) and cp -a (which gives files to their owner) need the
    default idmap=user, and trees of relative links pass the default
    contain_symlinks."""
    with own_mount(jumpfs_bin, pytestconfig) as m:
        yield m[0]


@pytest.fixture
def sd(mount):
    """(path through the mount, path on the backend) of a scratch dir."""
    name = make_scratch("jfs-wf-")
    yield f"{mount}/{name}", BACKEND_HOME / name
    remove_scratch(name)


@pytest.fixture
def local_dir():
    """A local directory owned by the lab user, removed afterwards."""
    pw = pwd.getpwnam(labmod.JFS_USER)
    path = Path(tempfile.mkdtemp(prefix="jfs-wf-local-", dir="/tmp"))
    os.chown(path, pw.pw_uid, pw.pw_gid)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def sh(command, timeout=300):
    return jfs.sh(command, timeout=timeout)


# --- a source tree, made the same way every time ----------------------------------

FILE_MODES = (0o644, 0o600, 0o755, 0o640, 0o444, 0o700)
DIR_MODES = (0o755, 0o750, 0o700, 0o775)


def make_tree(root, files=300, seed=1234):
    """A deterministic tree under root: nested directories, files of mixed
    sizes (empty to 300 KB) and modes, relative symlinks to files, to
    directories and dangling, one climbing out of a directory and back in
    with "..", two hard links, and
    fixed mtimes. Owned by the lab user."""
    rng = random.Random(seed)
    root = Path(root)
    root.mkdir()
    dirs = [Path(".")]
    for i in range(24):
        parent = rng.choice(dirs)
        d = parent / f"dir{i:02d}{' with space' if i % 7 == 3 else ''}"
        (root / d).mkdir()
        dirs.append(d)
    made = []
    for i in range(files):
        d = rng.choice(dirs)
        size = rng.choice((0, 1, 17, 512, 4095, 4096, 4097, 32000, 65536, 100000)) \
            if i % 50 else 300000
        name = f"file{i:03d}{rng.choice(('.c', '.txt', '', '.bin', ' x.md', '-ü.h'))}"
        p = root / d / name
        p.write_bytes(rng.randbytes(size))
        made.append(p)
    for i, target in enumerate(rng.sample(made, 20)):
        link = target.parent / f"link{i:02d}"
        os.symlink(target.name, link)
    os.symlink("dir00", root / "dirlink")
    os.symlink("does/not/exist", root / "dangling")
    os.symlink("../" * len(dirs[1].parts) + "dirlink", root / dirs[1] / "updown")
    os.link(made[0], root / "hardlink-a")
    os.link(made[1], root / "dir00" / "hardlink-b")
    pw = pwd.getpwnam(labmod.JFS_USER)
    for p in [root, *root.rglob("*")]:
        os.lchown(p, pw.pw_uid, pw.pw_gid)
    for p in made:
        p.chmod(rng.choice(FILE_MODES))
    for p in [root, *root.rglob("*")]:
        t = 1500000000 + rng.randrange(10 ** 7)
        os.utime(p, (t, t), follow_symlinks=False)
    for d in sorted(dirs, key=lambda d: -len(d.parts)):
        if d != Path("."):
            (root / d).chmod(rng.choice(DIR_MODES))
            t = 1500000000 + rng.randrange(10 ** 7)
            os.utime(root / d, (t, t))
    return root


def snapshot(root, mtimes=True, dir_mtimes=True):
    """{relative path: (kind, mode, size, digest or link target, mtime)} of
    a tree, read as root (for the mount: as the lab user, see
    snapshot_as_user)."""
    out = {}
    root = Path(root)
    for p in sorted(root.rglob("*")):
        st = os.lstat(p)
        rel = str(p.relative_to(root))
        if stat.S_ISLNK(st.st_mode):
            out[rel] = ("l", None, None, os.readlink(p), None)
            continue
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISDIR(st.st_mode):
            out[rel] = ("d", mode, None, None, int(st.st_mtime) if dir_mtimes else None)
        else:
            out[rel] = ("f", mode, st.st_size, hashlib.sha256(p.read_bytes()).hexdigest(),
                        int(st.st_mtime) if mtimes else None)
    return out


SNAPSHOT_AS_USER = """
import hashlib, json, os, stat
from pathlib import Path
root = Path(ROOT)
out = {}
for p in sorted(root.rglob("*")):
    st = os.lstat(p)
    rel = str(p.relative_to(root))
    if stat.S_ISLNK(st.st_mode):
        out[rel] = ["l", None, None, os.readlink(p), None]
    elif stat.S_ISDIR(st.st_mode):
        out[rel] = ["d", stat.S_IMODE(st.st_mode), None, None, int(st.st_mtime)]
    else:
        out[rel] = ["f", stat.S_IMODE(st.st_mode), st.st_size,
                    hashlib.sha256(p.read_bytes()).hexdigest(), int(st.st_mtime)]
print(json.dumps(out))
"""


def snapshot_as_user(root):
    return {k: tuple(v) for k, v in run_py(SNAPSHOT_AS_USER, ROOT=str(root)).items()}


def assert_same_tree(got, want, what):
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    assert not missing and not extra, f"{what}: missing {missing[:10]}, extra {extra[:10]}"
    diff = [(k, got[k], want[k]) for k in sorted(want) if got[k] != want[k]]
    assert not diff, f"{what}: {len(diff)} entries differ, e.g. {diff[:5]}"


@pytest.fixture
def tree(local_dir):
    root = make_tree(local_dir / "src")
    return root


# --- editors and scripts ------------------------------------------------------------

def test_vim_edit_with_backup_swap_and_rename(sd, local_dir):
    m, b = sd
    (b / "notes.txt").write_text("old line 1\nold line 2\n")
    (b / "notes.txt").chmod(0o640)
    backend_chown(b / "notes.txt")
    typed = "Edited on jumpfs: ünïcødé ☃, tabs\there, 'quotes' \"too\"\nsecond line\n\nlast"
    keys = local_dir / "keys"
    swaps = local_dir / "swaps"
    # ggdG: delete everything; i...<Esc>: type the text; note the swap
    # files there are; :wq
    keys.write_text("ggdGi" + typed + "\x1b"
                    f":call writefile(glob('.notes.txt.sw?', 1, 1), '{swaps}')\n:wq\n")
    os.chmod(keys, 0o644)
    # Vim's defaults but for backupskip (/tmp/*: the mount is there) and
    # where backups and swap files go: next to the file.
    setup = ("set backup writebackup swapfile backupcopy=no backupskip= "
             "backupdir=. directory=. updatecount=1 encoding=utf-8 fileencoding=utf-8")
    proc = labmod.as_user(
        ["sh", "-c", f"cd '{m}' && TERM=dumb vim -N -u NONE -i NONE --noplugin "
                     f"--cmd '{setup}' -s '{keys}' notes.txt </dev/null >/dev/null 2>&1; "
                     "echo rc=$?"], timeout=120)
    assert "rc=0" in proc.stdout, proc.stdout + proc.stderr
    assert (b / "notes.txt").read_text() == typed + "\n"
    # the backup vim made by renaming the original, and kept ('backup')
    assert (b / "notes.txt~").read_text() == "old line 1\nold line 2\n"
    # vim had its swap file on the mount while editing
    assert swaps.read_text() == ".notes.txt.swp\n"
    # the new file got the old one's mode; the swap file is gone
    assert stat.S_IMODE((b / "notes.txt").stat().st_mode) == 0o640
    assert sorted(os.listdir(b)) == ["notes.txt", "notes.txt~"]
    assert jfs.sh(f"cat '{m}/notes.txt'") == typed + "\n"


def test_sed_in_place(sd):
    m, b = sd
    lines = [f"line {i}: foo bar foo\n" for i in range(2000)]
    (b / "conf").write_text("".join(lines))
    (b / "conf").chmod(0o604)
    sh(f"sed -i 's/foo/baz/g; /line 1[0-9]:/d' '{m}/conf'")
    want = "".join(line.replace("foo", "baz") for i, line in enumerate(lines)
                   if not 10 <= i <= 19)
    assert (b / "conf").read_text() == want
    assert stat.S_IMODE((b / "conf").stat().st_mode) == 0o604
    assert os.listdir(b) == ["conf"]  # sed's temp file renamed over it
    assert sh(f"cat '{m}/conf'") == want


def test_write_temp_and_rename_is_atomic_for_readers_on_the_mount(sd):
    """A script replaces a file by writing a temp file and renaming it over
    the original; a reader on the mount never sees it missing or half
    written."""
    m, b = sd
    (b / "state.json").write_text("0" * 50000)
    reader = labmod.popen_as_user(["/usr/bin/python3", "-c", f"""
import os, sys, time
bad = reads = 0
end = time.monotonic() + 60
while time.monotonic() < end and not os.path.exists({m!r} + "/done"):
    try:
        with open({m!r} + "/state.json", "rb") as f:
            data = f.read()
    except FileNotFoundError:
        bad += 1
        continue
    reads += 1
    if len(data) != 50000 or len(set(data)) != 1:
        bad += 1
print(reads, bad)
"""], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        run_py("""
            for i in range(100):
                tmp = f"{M}/.state.json.tmp{os.getpid()}"
                with open(tmp, "wb") as f:
                    f.write(str(i % 10).encode() * 50000)
                    f.flush()
                    os.fsync(f.fileno())
                os.rename(tmp, f"{M}/state.json")
            open(f"{M}/done", "w").close()
        """, M=m)
        out, err = reader.communicate(timeout=120)
    finally:
        if reader.poll() is None:
            reader.kill()
    reads, bad = map(int, out.split())
    assert reads > 0, err
    assert bad == 0, f"{bad} of {reads} reads saw a missing or torn file"
    assert (b / "state.json").read_bytes() == b"9" * 50000
    # A file renamed over while the reader had it open is kept as
    # .fuse_hidden* by the kernel until the reader's RELEASE, which the
    # kernel sends after close(2) has returned: give it time to go.
    deadline = time.monotonic() + 10
    while sorted(os.listdir(b)) != ["done", "state.json"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(os.listdir(b)) == ["done", "state.json"]


# --- git ------------------------------------------------------------------------------

def test_git_repository_on_the_mount(sd):
    m, b = sd
    repo = f"{m}/repo"
    git = f"git -C '{repo}'"
    sh(f"mkdir '{repo}' && {git} init -q -b main && "
       f"{git} config user.name 'Jumpfs Test' && {git} config user.email jfs@example.invalid && "
       f"printf 'int main(void) {{ return 0; }}\\n' > '{repo}/main.c' && "
       f"mkdir '{repo}/docs' && printf 'hello\\n' > '{repo}/docs/README' && "
       f"chmod 755 '{repo}/main.c' && ln -s docs/README '{repo}/link' && "
       f"{git} add -A && {git} commit -q -m first")
    assert sh(f"{git} status --porcelain") == ""
    sh(f"printf 'changed\\n' >> '{repo}/docs/README' && rm '{repo}/main.c'")
    assert sorted(sh(f"{git} status --porcelain").splitlines()) == \
        [" D main.c", " M docs/README"]
    sh(f"{git} checkout -q -- . ")
    assert sh(f"{git} status --porcelain") == ""
    assert (b / "repo" / "docs" / "README").read_text() == "hello\n"
    assert stat.S_IMODE((b / "repo" / "main.c").stat().st_mode) == 0o755
    sh(f"{git} checkout -q -b feature && printf 'feature\\n' > '{repo}/new' && "
       f"{git} add new && {git} commit -q -m second && {git} mv new renamed && "
       f"{git} commit -q -m third && {git} checkout -q main")
    assert not (b / "repo" / "renamed").exists()
    log = sh(f"{git} log --format=%s feature").split()
    assert log == ["third", "second", "first"]
    sh(f"{git} merge -q --ff-only feature")
    assert (b / "repo" / "renamed").read_text() == "feature\n"
    sh(f"{git} gc -q && {git} fsck --strict --no-progress")
    assert sh(f"{git} rev-list --count HEAD").strip() == "3"
    # and the backend's own git agrees
    out = subprocess.run(["git", "-c", f"safe.directory={b / 'repo'}", "-C", str(b / "repo"),
                          "log", "--format=%s"], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["third", "second", "first"]


# --- copying trees ----------------------------------------------------------------------

def test_rsync_into_and_out_of_the_mount(sd, tree, local_dir):
    m, b = sd
    want = snapshot(tree)
    sh(f"rsync -a '{tree}/' '{m}/copy/'")
    assert_same_tree(snapshot(b / "copy"), want, "rsync -a into the mount (backend)")
    sh(f"rsync -a '{m}/copy/' '{local_dir}/back/'")
    assert_same_tree(snapshot(local_dir / "back"), want, "rsync -a out of the mount")
    # a second run finds nothing to do
    out = sh(f"rsync -ai '{tree}/' '{m}/copy/'")
    assert out.strip() == "", out
    # change some files locally; --inplace rewrites them in place
    rng = random.Random(7)
    changed = [p for p in sorted(tree.rglob("file*")) if p.is_file() and not p.is_symlink()
               and p.stat().st_mode & 0o200][:15]
    for p in changed:
        data = bytearray(p.read_bytes() or b"x")
        data[rng.randrange(len(data))] ^= 0xff
        p.write_bytes(bytes(data) + b"tail")
        os.utime(p, (1600000000, 1600000000))
    inodes = {p: os.stat(b / "copy" / p.relative_to(tree)).st_ino for p in changed}
    sh(f"rsync -a --inplace '{tree}/' '{m}/copy/'")
    assert_same_tree(snapshot(b / "copy"), snapshot(tree), "rsync -a --inplace")
    for p, ino in inodes.items():
        assert os.stat(b / "copy" / p.relative_to(tree)).st_ino == ino, "not in place"


def test_cp_a_keeps_modes_mtimes_links(sd, tree):
    m, b = sd
    sh(f"cp -a '{tree}' '{m}/copy'")
    want = snapshot(tree)
    assert_same_tree(snapshot(b / "copy"), want, "cp -a into the mount (backend)")
    assert_same_tree(snapshot_as_user(f"{m}/copy"), want, "cp -a, seen through the mount")
    # cp -a keeps hard links as links
    assert os.stat(b / "copy" / "hardlink-a").st_ino == \
        os.stat(b / "copy" / os.path.relpath(_hardlink_peer(tree, "hardlink-a"), tree)).st_ino


def _hardlink_peer(tree, name):
    ino = os.stat(tree / name).st_ino
    return next(p for p in tree.rglob("file*") if os.lstat(p).st_ino == ino)


def _members(path):
    """{name: (type, mode, size, digest, linkname, mtime)} of a tar file."""
    out = {}
    with tarfile.open(path) as tar:
        for ti in tar.getmembers():
            name = os.path.normpath(ti.name)
            if name == ".":
                continue
            digest = None
            if ti.isfile():
                digest = hashlib.sha256(tar.extractfile(ti).read()).hexdigest()
            kind = "h" if ti.islnk() else ti.type.decode()
            link = os.path.normpath(ti.linkname) if ti.islnk() else ti.linkname
            out[name] = (kind, ti.mode, ti.size if ti.isfile() else 0, digest, link,
                         ti.mtime)
    return out


def test_tar_x_then_tar_c_round_trip(sd, tree, local_dir):
    m, b = sd
    src_tar = local_dir / "src.tar"
    sh(f"tar -C '{tree}' -cf '{src_tar}' .")
    sh(f"mkdir '{m}/x' && tar -C '{m}/x' -xpf '{src_tar}'")
    assert_same_tree(snapshot(b / "x"), snapshot(tree), "tar x into the mount (backend)")
    back = local_dir / "back.tar"
    sh(f"tar -C '{m}/x' -cf '{back}' .")
    got, want = _members(back), _members(src_tar)
    hard = {k: v[4] for k, v in want.items() if v[0] == "h"}
    assert len(hard) == 2
    # tar x made real hard links on the server
    for name, peer in hard.items():
        assert os.stat(b / "x" / name).st_ino == os.stat(b / "x" / peer).st_ino
    # but the mount shows st_nlink 1 and its own inode numbers (SFTP v3 has
    # neither), so tar c stores them as two files with the same content
    expected = {k: (want[hard[k]] if k in hard else v) for k, v in want.items()}
    assert sorted(got) == sorted(expected)
    diff = [(k, got[k], expected[k]) for k in sorted(got) if got[k] != expected[k]]
    assert not diff, f"{len(diff)} members differ, e.g. {diff[:3]}"
