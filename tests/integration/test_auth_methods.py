"""Auth keywords the config fills in HopSpec: PreferredAuthentications,
NumberOfPasswordPrompts, GSSAPIAuthentication, through the lab as the lab
user."""

import pytest

import lab as labmod
from test_auth import (J2, PASSWORD, accepted, check_as_user, failed, jfs_dir,  # noqa: F401
                       make_askpass, prompts, user_config)


@pytest.mark.parametrize("preferred,expected", [
    (None, "publickey"),
    ("password,publickey", "password"),
])
def test_preferred_authentications_order(lab, jumpfs_bin, jfs_dir, preferred, expected):
    # jump2 takes a key or a password: the first of PreferredAuthentications
    # that the server offers wins, as with ssh.
    lab.run("password", "jump2", "both")
    config = user_config(jfs_dir, f"  PreferredAuthentications {preferred}\n"
                         if preferred else "")
    before = {m: accepted("jump2", m, labmod.JUMP2.user) for m in ("password", "publickey")}
    proc = check_as_user(jumpfs_bin, labmod.SERVER3, "-F", config, "-o", f"password_stdin={J2}",
                         stdin_text=PASSWORD + "\n")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = {m: accepted("jump2", m, labmod.JUMP2.user) for m in ("password", "publickey")}
    assert {m: after[m] - before[m] for m in after} == \
        {m: int(m == expected) for m in after}


def test_number_of_password_prompts(lab, jumpfs_bin, jfs_dir):
    # Always the wrong password: asked NumberOfPasswordPrompts times, and
    # that many attempts reach sshd, no more.
    lab.run("password", "jump2", "on")
    askpass, log = make_askpass(jfs_dir, "wrong-password")
    config = user_config(jfs_dir, "  NumberOfPasswordPrompts 2\n")
    before = failed("jump2", "password", labmod.JUMP2.user)
    proc = check_as_user(jumpfs_bin, labmod.SERVER3, "-F", config,
                         env={"SSH_ASKPASS": str(askpass)})
    assert proc.returncode != 0
    assert prompts(log) == ["user2@jumphost2.whatever.org's password (hop 2/3): "] * 2
    assert failed("jump2", "password", labmod.JUMP2.user) == before + 2
    assert "password (rejected), password (rejected)" in proc.stdout, proc.stdout


def test_gssapi_without_kerberos_is_skipped_quietly(lab, jumpfs_bin, jfs_dir, request):
    # Debian's ssh_config: GSSAPIAuthentication yes for Host *. jump1 offers
    # gssapi-with-mic; this machine has no Kerberos: skipped, the key logs
    # in, and nothing about it on stderr.
    lab.run("gssapi", "jump1", "on")
    assert not labmod.Path("/etc/krb5.conf").exists(), "this test wants no Kerberos here"
    config = user_config(jfs_dir, "  GSSAPIAuthentication yes\n")
    proc = check_as_user(jumpfs_bin, labmod.SERVER3, "-F", config)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == ""
    debug = check_as_user(jumpfs_bin, labmod.SERVER3, "-F", config, "-d").stderr
    hop1 = "\n".join(line for line in debug.splitlines() if "hop 1/3" in line)
    assert "the server accepts publickey,gssapi-with-mic" in hop1, debug
    assert "skipping gssapi-with-mic: no Kerberos here" in hop1, debug
    assert "authenticated with publickey" in hop1, debug

    # With a credential cache named (that does not exist): tried first, it
    # fails at once, before anything is sent, and the key logs in. Not under
    # ASan: libssh 0.10.6 leaks its GSSAPI context at every failed try.
    if request.config.getoption("--sanitized"):
        return
    env = {"KRB5CCNAME": f"FILE:{jfs_dir}/no-such-ccache"}
    proc = check_as_user(jumpfs_bin, labmod.SERVER3, "-F", config, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == ""
    debug = check_as_user(jumpfs_bin, labmod.SERVER3, "-F", config, "-d", env=env).stderr
    hop1 = "\n".join(line for line in debug.splitlines() if "hop 1/3" in line)
    assert hop1.index("trying gssapi-with-mic") < hop1.index("trying key"), debug
