"""pytest fixtures for the jumpfs integration tests.

- `lab` (session): brings the namespace lab up once (scripts/lab up) and
  yields a lab.Lab; skips everything when the machine cannot host it.  After
  every test that used it, faults are undone (scripts/lab restore), so one
  failing test does not break the next.  The lab is left up at the end.
- `jumpfs_bin` (session): path of the jumpfs binary (--jumpfs, $JUMPFS_BIN,
  or build/cli/jumpfs); skips the test when it is not built.
- `mountpoint`: a fresh directory under /tmp owned by the client user; on
  teardown, even after a failure, lazily unmounted and any jumpfs left killed.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import lab as labmod


def pytest_addoption(parser):
    default = os.environ.get("JUMPFS_BIN") or str(labmod.REPO_ROOT / "build" / "cli" / "jumpfs")
    parser.addoption("--jumpfs", default=default,
                     help="jumpfs binary to test (default: $JUMPFS_BIN or build/cli/jumpfs)")
    parser.addoption("--sanitized", action="store_true",
                     help="the binary is built with ASan/UBSan: collect their reports "
                          "(the daemon's stderr is /dev/null) and fail the test that "
                          "produced one")


SANITIZER_LOGS = Path("/tmp/jumpfs-sanitizer-logs")
def pytest_configure(config):
    config.addinivalue_line(
        "markers", "unsanitized_only(why): run only against the normal build; the sanitized "
        "run (scripts/test runs the suite twice) would repeat what exercises no more jumpfs "
        "code than other tests there do (an oracle, a timer, the lab itself)")
    if os.geteuid() == 0:
        # Held until this process exits.
        config._jumpfs_suite_lock = labmod.take_suite_lock()
    if config.getoption("--sanitized"):
        SANITIZER_LOGS.mkdir(mode=0o1777, exist_ok=True)
        SANITIZER_LOGS.chmod(0o1777)
        # Inherited by every jumpfs the tests start (runuser keeps the
        # environment); a daemon writes its report when it exits.
        os.environ["ASAN_OPTIONS"] = (f"log_path={SANITIZER_LOGS}/asan:detect_leaks=1:"
                                      "abort_on_error=0")
        os.environ["UBSAN_OPTIONS"] = (f"log_path={SANITIZER_LOGS}/ubsan:print_stacktrace=1:"
                                       "halt_on_error=0")
        # A ThreadSanitizer build (scripts/test's TSan step) reports the same way.
        supp = Path(__file__).resolve().parents[1] / "tsan" / "glib.supp"
        os.environ["TSAN_OPTIONS"] = (f"log_path={SANITIZER_LOGS}/tsan:halt_on_error=0:"
                                      f"suppressions={supp}")
        # GLib 2.74's GSlice hands memory between threads behind futexes
        # that TSan cannot see (false races on reuse); malloc it can.
        os.environ["G_SLICE"] = "always-malloc"


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--sanitized"):
        return
    for item in items:
        mark = item.get_closest_marker("unsanitized_only")
        if mark is not None:
            item.add_marker(pytest.mark.skip(reason=f"run against the normal build only: "
                                                    f"{mark.args[0]}"))


@pytest.fixture
def sanitized(request):
    """True in the sanitized run (--sanitized)."""
    return request.config.getoption("--sanitized")


@pytest.fixture(autouse=True)
def _sanitizer_reports(request):
    """With --sanitized: any report written during the test fails it."""
    if not request.config.getoption("--sanitized"):
        yield
        return
    before = set(SANITIZER_LOGS.iterdir())
    yield
    # Daemons of this test may still be exiting: give them a moment.
    import time
    time.sleep(0.2)
    new = sorted(set(SANITIZER_LOGS.iterdir()) - before)
    if new:
        text = "\n".join(f"== {p}\n{p.read_text(errors='replace')[:4000]}" for p in new)
        pytest.fail(f"sanitizer reports:\n{text}", pytrace=False)


def _why_no_lab():
    """Reason the lab cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if not os.path.exists("/dev/fuse"):
        return "needs /dev/fuse"
    if shutil.which("ip") is None:
        return "needs root to create network namespaces (no 'ip' command: install iproute2)"
    # Creating a namespace is the only honest test of `ip netns` (containers
    # often lack CAP_SYS_ADMIN or a writable /run/netns).
    probe = f"jfs-probe-{os.getpid()}"
    proc = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if proc.returncode != 0:
        return ("needs root to create network namespaces "
                f"(ip netns add failed: {proc.stderr.strip()})")
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


@pytest.fixture(scope="session")
def lab():
    reason = _why_no_lab()
    if reason:
        pytest.skip(reason)
    try:
        labmod.lab("up")
    except labmod.LabError as e:
        pytest.fail(f"the lab did not come up:\n{e}", pytrace=False)
    if not labmod.routes_safe():
        pytest.fail("lab routes would send 10.77.x.x off this machine; refusing to test",
                    pytrace=False)
    yield labmod.Lab()
    # Leave the lab up (others use it) but with no fault left behind.
    labmod.restore()


@pytest.fixture(autouse=True)
def _lab_faults_undone(request):
    """Undo lab faults after each test that used the lab, pass or fail."""
    yield
    if "lab" in request.fixturenames:
        # Always: a test may have poked the lab without the helpers.  Cheap
        # (no sshd restart) when nothing changed.
        labmod.restore()


@pytest.fixture(scope="session")
def jumpfs_bin(request):
    path = Path(request.config.getoption("--jumpfs")).resolve()
    if not os.access(path, os.X_OK):
        pytest.skip(f"jumpfs binary not found at {path} (build it, or pass --jumpfs / "
                    "set JUMPFS_BIN)")
    return path


@pytest.fixture
def mountpoint(lab):
    path = labmod.user_dir("jumpfs-mnt-")
    yield path
    labmod.cleanup_mount(path)
    if not labmod.is_mounted(path):
        try:
            path.rmdir()
        except OSError:
            pass  # something was written into the bare directory: leave it


@pytest.fixture
def workdir():
    """A scratch directory of the lab user's (configs, logs), emptied and
    removed after the test."""
    path = labmod.user_dir("jumpfs-work-")
    yield path
    shutil.rmtree(path, ignore_errors=True)
