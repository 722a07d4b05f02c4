"""Helpers around scripts/lab for the integration tests (stdlib only).

The lab is a chain of real OpenSSH servers in network namespaces:

    host --veth-- jump1 (10.77.1.2:22, user1)
               --veth-- jump2 (10.77.2.2:2222, user2)
                     --veth-- backend (10.77.3.2:22, anotherusername)

The backend is reachable from the host only through the two jumps.  The
client user is JFS_USER; its ~/.ssh/config has the seed's aliases "server3"
(both jumps) and "server2" (jump1 only: cannot reach the backend, for error
tests).  See scripts/lab help for the fault controls wrapped here.
"""

import errno
import os
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LAB_SCRIPT = REPO_ROOT / "scripts" / "lab"
STATE_DIR = Path("/var/lib/jumpfs-lab")
# One user of the lab at a time on this machine (a pytest run, a bench):
# the lab, jfsuser's ~/.ssh and the login counters are shared, and fault
# tests change them.
SUITE_LOCK = Path("/run/lock/jumpfs-suite.lock")

JFS_USER = "jfsuser"


@dataclass(frozen=True)
class Host:
    name: str  # lab name: jump1, jump2, backend
    ns: str  # network namespace
    addr: str  # address clients dial
    port: int
    user: str  # the one user its sshd lets in
    fqdn: str  # name in /etc/hosts


HOSTS = {
    "jump1": Host("jump1", "jfs-jump1", "10.77.1.2", 22, "user1", "jumphost1.whatever.org"),
    "jump2": Host("jump2", "jfs-jump2", "10.77.2.2", 2222, "user2", "jumphost2.whatever.org"),
    "backend": Host("backend", "jfs-backend", "10.77.3.2", 22, "anotherusername",
                    "backend.whatever.org"),
}
JUMP1, JUMP2, BACKEND = HOSTS["jump1"], HOSTS["jump2"], HOSTS["backend"]
LINKS = ("host-jump1", "jump1-jump2", "jump2-backend")

# The seed's aliases in JFS_USER's ~/.ssh/config.
SERVER3 = "server3"  # ProxyJump jump1,jump2 -> backend
SERVER2 = "server2"  # ProxyJump jump1 -> backend: fails (jump1 has no route)
# The same chain as an explicit -J list.
PROXYJUMP_2HOPS = f"{JUMP1.user}@{JUMP1.fqdn}:{JUMP1.port},{JUMP2.user}@{JUMP2.fqdn}:{JUMP2.port}"

BACKEND_HOME = Path("/home") / BACKEND.user
BACKEND_HELLO = BACKEND_HOME / "hello.txt"  # "hello from the jumpfs lab backend\n"
BACKEND_DATA = Path("/srv/data")  # owned by BACKEND.user
# A second local address of the host, alone on interface SOURCE_IF (for
# BindAddress / BindInterface); connections from the host come from
# 10.77.1.1 otherwise.
SOURCE_IF, SOURCE_ADDR = "jfs-src0", "10.77.1.11"

# Subcommands that leave the lab changed until undone (`lab restore`).
_FAULT_COMMANDS = {"hostkey", "forwarding", "link", "sshd", "loglevel"}
_faults_pending = False


class LabError(RuntimeError):
    pass


def lab(*args, check=True, timeout=120):
    """Run scripts/lab with args; returns CompletedProcess (text output).

    Raises LabError with the script's output when check and it fails.
    """
    global _faults_pending
    if args and args[0] in _FAULT_COMMANDS:
        _faults_pending = True
    proc = subprocess.run([str(LAB_SCRIPT), *map(str, args)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise LabError(f"scripts/lab {' '.join(map(str, args))} exited {proc.returncode}:\n"
                       f"{proc.stdout}{proc.stderr}")
    return proc


def faults_pending():
    """True if a fault command ran since the last restore()."""
    return _faults_pending


def restore():
    """Undo every fault: client files, host keys, forwarding, links, sshds."""
    global _faults_pending
    lab("restore")
    _faults_pending = False


def logins(host, user=None):
    """Number of "Accepted publickey for USER" lines in HOST's sshd log."""
    host = host.name if isinstance(host, Host) else host
    return int(lab("logins", host, *([user] if user else [])).stdout.strip())


def all_logins():
    """{host name: logins of its user} for every host."""
    return {name: logins(name) for name in HOSTS}


def as_user(cmd, user=JFS_USER, check=False, timeout=60, **kwargs):
    """Run cmd (list, or str for sh -c) as user via runuser; text output."""
    if isinstance(cmd, str):
        cmd = ["sh", "-c", cmd]
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    kwargs.setdefault("capture_output", True)
    return subprocess.run(["runuser", "-u", user, "--", *map(str, cmd)], text=True,
                          check=check, timeout=timeout, **kwargs)


def popen_as_user(cmd, user=JFS_USER, **kwargs):
    """Popen of cmd as user (caller owns the process)."""
    if isinstance(cmd, str):
        cmd = ["sh", "-c", cmd]
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.Popen(["runuser", "-u", user, "--", *map(str, cmd)], text=True, **kwargs)


SSH_OPTS = ("-o", "BatchMode=yes", "-o", "ConnectTimeout=5")


def ssh(*remote, alias=SERVER3, user=JFS_USER, timeout=60):
    """OpenSSH client through the chain as JFS_USER (lab checks only)."""
    return as_user(["ssh", *SSH_OPTS, alias, *remote], user=user, timeout=timeout)


def host_route(addr):
    """Where the host would send a packet for addr, without sending one.

    "lab" (out of the host-jump1 veth), "blocked" (the lab's unreachable
    route: the kernel refuses locally) or "outside" (would leave the machine:
    never probe such an address).
    """
    proc = subprocess.run(["ip", "route", "get", addr], capture_output=True, text=True)
    if proc.returncode != 0:
        return "blocked"
    return "lab" if " dev jfs-h-j1 " in proc.stdout else "outside"


def routes_safe():
    """True if no lab address can be routed off this machine."""
    return (host_route(JUMP1.addr) != "outside" and host_route(JUMP2.addr) == "blocked"
            and host_route(BACKEND.addr) == "blocked")


# --- FUSE mounts -------------------------------------------------------------

def _unescape_mount_field(field):
    # /proc/mounts escapes space, tab, newline and backslash as \ooo.
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def fuse_mounts():
    """{mount point: fstype} of every FUSE mount (fuse, fuse.NAME, fuseblk)."""
    mounts = {}
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 3 and fields[2].startswith("fuse") and fields[2] != "fusectl":
                mounts[_unescape_mount_field(fields[1])] = fields[2]
    return mounts


def is_mounted(path):
    return os.path.realpath(path) in fuse_mounts()


def wait_for_mount(path, timeout=10.0, proc=None):
    """Poll /proc/mounts until a FUSE file system is mounted at path.

    If proc (a Popen of the mounting daemon) exits first, fail at once with
    its output instead of waiting out the timeout.
    """
    path = os.path.realpath(path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path in fuse_mounts():
            return
        if proc is not None and proc.poll() is not None:
            out = ""
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    out += stream.read() or ""
            raise AssertionError(f"mount daemon exited {proc.returncode} before mounting "
                                 f"{path}:\n{out}")
        time.sleep(0.05)
    raise TimeoutError(f"no FUSE mount at {path} after {timeout}s")


# Daemons that cleanup_mount may kill when they name the mount point.
MOUNT_DAEMONS = {"jumpfs", "sshfs"}


def _pids_mounting(path):
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        except OSError:
            continue
        if argv and os.path.basename(argv[0]) in MOUNT_DAEMONS and path in argv:
            pids.append(int(entry))
    return pids


def _wait_pid_gone(pid, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


def cleanup_mount(path, procs=()):
    """Lazily unmount path and kill what served it; never raises.

    fusermount3 -uz first (the kernel lets go even if the daemon hangs), then
    SIGTERM, and SIGKILL after 2 s, to the given Popen objects and to any
    jumpfs/sshfs process whose arguments name the mount point.
    """
    path = os.path.realpath(path)
    subprocess.run(["fusermount3", "-uz", path], stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if is_mounted(path):  # not ours to fusermount (e.g. another user's): force it
        subprocess.run(["umount", "-l", path], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    pids = set(_pids_mounting(path))
    pids.update(p.pid for p in procs if p.poll() is None)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in list(pids):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pids.discard(pid)
        pids = {pid for pid in pids if not _wait_pid_gone(pid, 2.0)}
        if not pids:
            break
    for p in procs:
        try:
            p.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass


# --- The fixture's face ------------------------------------------------------

class Lab:
    """What the `lab` fixture yields: the lab's data and its controls."""

    hosts = HOSTS
    links = LINKS
    jfs_user = JFS_USER

    run = staticmethod(lab)
    logins = staticmethod(logins)
    all_logins = staticmethod(all_logins)
    restore = staticmethod(restore)
    ssh = staticmethod(ssh)

    def status(self):
        return lab("status", check=False)

    def hostkey(self, host, action):  # rotate | restore
        return lab("hostkey", host, action)

    def forwarding(self, host, state):  # on | off
        return lab("forwarding", host, state)

    def link(self, name, state):  # up | down
        return lab("link", name, state)

    def sshd(self, host, action):  # stop | start | restart
        return lab("sshd", host, action)

    def loglevel(self, host, level):  # debug | verbose (restore: verbose)
        return lab("loglevel", host, level)

    def kill_sessions(self, host, user=None):
        return lab("kill-sessions", host, *([user] if user else []))

    def log_path(self, host):
        return STATE_DIR / host / "sshd.log"


def connect_errno(addr, port, timeout=2.0):
    """errno of a TCP connect from the host (0 if it connected).

    Refuses to send anything unless the lab's routes keep it on this machine.
    """
    if host_route(addr) == "outside":
        raise AssertionError(f"{addr} would be routed off this machine; not probing")
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((addr, port))
        return 0
    except socket.timeout:
        return errno.ETIMEDOUT
    except OSError as e:
        return e.errno
    finally:
        s.close()


def _lock_holders(path):
    """Pids holding a flock on path, from /proc/locks."""
    ino = os.stat(path).st_ino
    holders = set()
    with open("/proc/locks") as f:
        for line in f:
            fields = line.split()
            # "1: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE ..."; waiters have "->".
            if "->" in fields or len(fields) < 6:
                continue
            if fields[5].rsplit(":", 1)[-1] == str(ino):
                holders.add(int(fields[4]))
    return holders


def _ancestors():
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def take_suite_lock():
    """Waits for SUITE_LOCK and returns its fd (keep it open to hold it), or
    None when an ancestor already holds it for us (`flock -o SUITE_LOCK ...`:
    waiting would wait for ourselves)."""
    import fcntl
    SUITE_LOCK.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(SUITE_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        if _lock_holders(SUITE_LOCK) & _ancestors():
            os.close(fd)
            return None
        print(f"\nwaiting for {SUITE_LOCK} (another run is using the lab)", flush=True)
        fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def user_dir(prefix):
    """A new directory in /tmp owned by the lab user (mode 0755)."""
    import pwd
    pw = pwd.getpwnam(JFS_USER)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chown(path, pw.pw_uid, pw.pw_gid)
    path.chmod(0o755)
    return path
