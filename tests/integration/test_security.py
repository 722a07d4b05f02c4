"""What other local users can do through a mount (docs/security.md): an
allow_other mount made as the README says lets them in, but the kernel
checks the modes shown (default_permissions is implied), and remote owners
other than the login user show as nobody, so a 0600 file is the mounting
user's alone."""

import os
import pwd

import lab as labmod
from test_system import SOURCE, in_namespace, system  # noqa: F401 (fixture)

OTHER_USER = "nobody"  # any local user but the one who mounted


def _backend_file(path, text, mode, owner):
    path.write_text(text)
    path.chmod(mode)
    pw = pwd.getpwnam(owner)
    os.chown(path, pw.pw_uid, pw.pw_gid)


def test_allow_other_mount_as_the_readme_makes_it(system, mountpoint):  # noqa: F811
    me = pwd.getpwnam(labmod.JFS_USER)
    secret = labmod.BACKEND_DATA / f"jfs-secret-{os.getpid()}"
    rootfile = labmod.BACKEND_DATA / f"jfs-rootfile-{os.getpid()}"
    _backend_file(secret, "secret\n", 0o600, labmod.BACKEND.user)
    _backend_file(rootfile, "root's\n", 0o644, "root")
    s, r = f"{mountpoint}/{secret.name}", f"{mountpoint}/{rootfile.name}"
    other = ["runuser", "-u", OTHER_USER, "--"]
    owner = ["runuser", "-u", labmod.JFS_USER, "--"]
    access = "import os, sys; print(os.access(sys.argv[1], os.R_OK), os.access(sys.argv[1], os.W_OK))"
    try:
        seen = in_namespace(system, mountpoint, [
            "mount", "-t", "fuse.jumpfs", SOURCE, mountpoint,
            "-o", f"ssh_user_config={labmod.JFS_USER},allow_other,no_share"],
            probes=[
                [*other, "cat", s],
                [*other, "sh", "-c", f"echo intruder >> {s}"],
                [*other, "python3", "-c", access, s],
                [*owner, "cat", s],
                [*owner, "sh", "-c", f"echo owner >> {s}"],
                [*owner, "python3", "-c", access, s],
                ["stat", "-c", "%u %g %a", s, r],
                [*other, "cat", r],
            ])
    finally:
        content = secret.read_text()
        secret.unlink()
        rootfile.unlink()
    assert seen["rc"] == 0, seen
    options = seen["mounts"][0][3].split(",")
    assert "allow_other" in options and "default_permissions" in options
    (o_read, o_write, o_access, m_read, m_write, m_access, owners, o_root) = seen["probes"]
    assert o_read[0] != 0 and "Permission denied" in o_read[2], o_read
    assert o_write[0] != 0 and "Permission denied" in o_write[2], o_write
    assert o_access[1].split() == ["False", "False"], o_access
    assert m_read[:2] == [0, "secret\n"], m_read
    assert m_write[0] == 0, m_write
    assert m_access[1].split() == ["True", "True"], m_access
    # The login user's file is the mounting user's; root's shows as nobody
    # (a local uid 0 gains nothing), and may be read as its mode says.
    assert owners[1].splitlines() == [f"{me.pw_uid} {me.pw_gid} 600", "65534 65534 644"]
    assert o_root[:2] == [0, "root's\n"], o_root
    assert content == "secret\nowner\n"
