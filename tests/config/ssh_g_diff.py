#!/usr/bin/python3
"""Differential test: `jumpfs -G` against OpenSSH's own `ssh -G`.

For every case of the corpus (tests/config/corpus/*.case) and for a few
hundred configs generated at random from jumpfs's keyword table (fixed
seed), both programs resolve every destination listed, and every line that
jumpfs prints must be exactly what ssh prints for that keyword (algorithm
lists after removing what libssh 0.10 cannot speak, from a table kept here
independently of jumpfs's). Where ssh refuses the config, jumpfs must too.

It runs as root inside a private mount and network namespace (unshare -mn):
/etc/ssh and root's home are replaced by each case's files, so both read
the same system config, ~/.ssh/config and includes, and no name lookup can
leave the machine. Without root or unshare it exits 77 (skipped).

usage: ssh_g_diff.py JUMPFS_BINARY CONFIG_TABLE_BINARY [--random N] [--seed S]
"""

import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
SKIP = 77

# What libssh 0.10.6 can speak, per list (probed with ssh_options_set;
# host certificates are dropped by libssh's kex for clients).
PLAIN_KEYS = ["ssh-ed25519", "sk-ssh-ed25519@openssh.com", "ecdsa-sha2-nistp256",
              "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
              "sk-ecdsa-sha2-nistp256@openssh.com", "ssh-rsa", "rsa-sha2-256",
              "rsa-sha2-512"]
LIBSSH = {
    "ciphers": None,  # all of OpenSSH's
    "macs": {"hmac-sha1", "hmac-sha2-256", "hmac-sha2-512", "hmac-sha1-etm@openssh.com",
             "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com"},
    "kexalgorithms": lambda n: not n.startswith("sntrup761"),
    "hostkeyalgorithms": set(PLAIN_KEYS),
    "pubkeyacceptedalgorithms": set(PLAIN_KEYS) | {
        k.replace("@openssh.com", "") + "-cert-v01@openssh.com" if "@openssh.com" in k
        else k + "-cert-v01@openssh.com" for k in PLAIN_KEYS},
}
# The keywords the issue asks -G to print; jumpfs must print each one
# that ssh prints.
REQUIRED = ["hostname", "user", "port", "proxyjump", "proxycommand", "identityfile",
            "certificatefile", "identityagent", "identitiesonly", "userknownhostsfile",
            "globalknownhostsfile", "stricthostkeychecking", "hostkeyalias",
            "hashknownhosts", "serveraliveinterval", "serveralivecountmax",
            "connecttimeout", "batchmode", "compression", "ciphers", "kexalgorithms",
            "hostkeyalgorithms", "macs", "pubkeyacceptedalgorithms"]


def libssh_filter(keyword, value):
    allowed = LIBSSH.get(keyword, None)
    if keyword not in LIBSSH or allowed is None:
        return value
    names = value.split(",")
    if callable(allowed):
        kept = [n for n in names if allowed(n)]
    else:
        kept = [n for n in names if n in allowed]
    return ",".join(kept)


def parse_g(text):
    lines = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        lines.setdefault(key.lower(), []).append(value)
    return lines


def run(argv, timeout=10):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


class Lab:
    """The fake /etc/ssh and home of one case: directories under a private
    temporary root, bind-mounted over /etc/ssh and /root (the home ssh reads
    from the password entry) in this mount namespace only."""

    def __init__(self, root):
        self.root = Path(root)
        self.etc = self.root / "etc-ssh"
        self.home = self.root / "home"  # seen as /root

    def install(self, files):
        """files: {path: text}; paths start with ~/ (home) or /etc/ssh/."""
        # Emptied, not replaced: they stay bind-mounted.
        for d in (self.etc, self.home):
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
            for child in d.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        (self.home / ".ssh").mkdir(mode=0o700)
        for path, text in files.items():
            if path.startswith("~/"):
                target = self.home / path[2:]
            elif path.startswith("/etc/ssh/"):
                target = self.etc / path[len("/etc/ssh/"):]
            else:
                target = self.root / path.lstrip("/")
            mode = 0o600
            m = re.match(r"(.*)@mode=([0-7]+)$", str(target))
            if m:
                target, mode = Path(m.group(1)), int(m.group(2), 8)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            os.chmod(target, mode)


def compare(jumpfs, args, label):
    """Returns a list of differences (strings) for one destination."""
    s_rc, s_out, s_err = run(["ssh", "-G"] + args)
    j_rc, j_out, j_err = run([jumpfs, "-G"] + args)
    if j_rc not in (0, 255):  # a signal, a sanitizer's report, a usage error
        return [f"{label}: jumpfs -G exited {j_rc}: {j_err.strip()[-2000:]}"]
    # ForwardAgent PATH with ExitOnForwardFailure: ssh stops because it
    # would forward the agent; a mount never forwards one.
    if s_rc != 0 and "Cannot forward agent socket path" in s_err:
        return []
    if s_rc != 0:
        if j_rc == 0:
            return [f"{label}: ssh refuses ({s_err.strip()}) but jumpfs accepts"]
        # Both refuse: jumpfs must name the same line when ssh names one.
        where = re.search(r"line ([1-9]\d*)", s_err)
        if where and f"line {where.group(1)}" not in j_err:
            return [f"{label}: ssh says {s_err.strip()!r}, jumpfs {j_err.strip()!r}"]
        if os.environ.get("JUMPFS_DIFF_VERBOSE"):
            print(f"# {label}\n#   ssh:    {s_err.strip()}\n#   jumpfs: {j_err.strip()}")
        return []
    ssh = parse_g(s_out)
    if j_rc != 0:
        for key in LIBSSH:
            if key in ssh and libssh_filter(key, ssh[key][0]) == "":
                if key in j_err.lower():
                    return []
        # ssh -G never looks at the jump hosts; a mount must.
        # Nor does it expand IdentityFile, CertificateFile or ProxyCommand.
        if re.search(r"jump ?host loop|too many jump hosts|^jumpfs: jump host |"
                     r"(IdentityFile|CertificateFile|ProxyCommand) \".*\": unknown token",
                     j_err):
            return []
        return [f"{label}: ssh accepts, jumpfs fails: {j_err.strip()}"]
    ours = parse_g(j_out)
    diffs = []
    for key, values in ours.items():
        want = [libssh_filter(key, v) for v in ssh.get(key, [])]
        if key == "host":
            continue
        if values != want:
            diffs.append(f"{label}: {key}: ssh {want!r} jumpfs {values!r}")
    for key in REQUIRED:
        if key in ssh and key not in ours:
            diffs.append(f"{label}: jumpfs does not print {key}")
    return diffs


def load_case(path):
    """A case file: '=== PATH' starts a file, '>>> ARGS' a destination."""
    files, dests, current = {}, [], None
    for line in path.read_text().splitlines(keepends=True):
        if line.startswith("=== "):
            current = line[4:].strip()
            files[current] = ""
        elif line.startswith(">>> "):
            dests.append(shlex.split(line[4:]))
            current = None
        elif line.startswith("#!") and current is None:
            continue
        elif current is not None:
            files[current] += line
    return files, dests


def config_table(binary):
    table = []
    for line in subprocess.run([binary], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        name, kind, *values = line.split()
        table.append((name, kind, values))
    return table


WORDS = ["alpha", "beta", "gamma.example", "10.0.0.7", "web1", "db-2.lan"]
HOSTS = ["alpha", "beta", "gamma.example", "web1", "db-2.lan", "Mixed.Case"]
ALGOS = {
    "ciphers": ["aes128-ctr", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com",
                "aes192-ctr", "3des-cbc", "aes128-cbc"],
    "macs": ["hmac-sha2-256", "hmac-sha1", "hmac-sha2-512-etm@openssh.com",
             "umac-64@openssh.com", "hmac-md5"],
    "kexalgorithms": ["curve25519-sha256", "diffie-hellman-group14-sha256",
                      "ecdh-sha2-nistp256", "diffie-hellman-group1-sha1",
                      "sntrup761x25519-sha512@openssh.com"],
    "hostkeyalgorithms": ["ssh-ed25519", "rsa-sha2-256", "ecdsa-sha2-nistp256",
                          "ssh-rsa", "ssh-ed25519-cert-v01@openssh.com"],
    "pubkeyacceptedalgorithms": ["ssh-ed25519", "rsa-sha2-512", "ssh-rsa",
                                 "rsa-sha2-256-cert-v01@openssh.com", "ecdsa-sha2-*"],
}
ALGOS["pubkeyacceptedkeytypes"] = ALGOS["pubkeyacceptedalgorithms"]


def random_value(rng, name, kind, values):
    if name in ALGOS:
        names = rng.sample(ALGOS[name], rng.randint(1, 3))
        if "*" in ",".join(names) and name != "pubkeyacceptedalgorithms":
            names = [n for n in names if "*" not in n] or [ALGOS[name][0]]
        return rng.choice(["", "+", "-", "^", ""]) + ",".join(names)
    if kind in ("flag", "enum"):
        return rng.choice(values)
    if kind == "int":
        return str(rng.choice([0, 1, 2, 3, 5, 2048]))
    if kind == "time":
        return rng.choice(["0", "5", "30s", "1m", "1h30m", "none"])
    by_name = {
        "hostname": ["%h.example.org", "real-%h", "10.1.2.3", "Upper.Example"],
        "user": ["alice", "bob", "svc-%u"[:3]],
        "port": ["22", "2022", "2200"],
        "identityfile": ["~/.ssh/id_%h", "~/.ssh/id_test", "%d/keys/%r"],
        "certificatefile": ["~/.ssh/cert-%n.pub", "/etc/cert.pub"],
        "identityagent": ["none", "~/agent.sock", "SSH_AUTH_SOCK", "/run/agent-%u"],
        "userknownhostsfile": ["~/.ssh/kh", "none", "~/.ssh/kh-%h %d/kh2"],
        "globalknownhostsfile": ["/etc/kh", "none", "/etc/a /etc/b"],
        "hostkeyalias": ["Alias-%x"[:5], "keyalias"],
        "proxyjump": ["jump1", "u@jump2:2022", "none", "jump1,jump2"],
        "proxycommand": ["nc %h %p", "none", "ssh -W %h:%p jump1"],
        "preferredauthentications": ["publickey", "password,publickey"],
        "bindaddress": ["127.0.0.1"], "bindinterface": ["lo"],
        "rekeylimit": ["1G", "500M 1h", "default none"],
        "revokedhostkeys": ["~/.ssh/revoked", "none"],
        "knownhostscommand": ["/bin/echo %H", "none"],
        "canonicaldomains": ["example.org", "none"],
        "canonicalizepermittedcnames": ["*.a:*.b", "none"],
        "localforward": ["8080 localhost:80", "[::1]:81 h:81", "/tmp/s /tmp/t"],
        "remoteforward": ["9090", "0 localhost:22"],
        "dynamicforward": ["1080", "localhost:1081"],
        "sendenv": ["LANG LC_*", "-LC_ALL"], "setenv": ["A=b C=d"],
        "ipqos": ["lowdelay throughput", "af21", "cs1 0x20"],
        "escapechar": ["~", "none", "^A"], "controlpersist": ["yes", "10m", "no"],
        "tunneldevice": ["any:any", "0:1"], "streamlocalbindmask": ["0177", "022"],
        "fingerprinthash": ["sha256", "md5"], "loglevel": ["ERROR", "DEBUG3", "INFO"],
        "syslogfacility": ["USER", "LOCAL7"], "addkeystoagent": ["yes", "confirm 5m", "1h"],
        "forwardagent": ["no", "~/agent"], "permitremoteopen": ["any", "h:22 h2:23"],
        "logverbose": ["kex.c:*", "none"], "controlpath": ["~/.ssh/cm-%C"],
    }
    if name in by_name:
        return rng.choice(by_name[name])
    return None


def random_config(rng, table):
    usable = [t for t in table if random_value(rng, *t) is not None]
    lines = []
    for _ in range(rng.randint(2, 5)):
        pattern = rng.choice(["*", "alpha", "beta gamma.example", "* !beta", "web?",
                              "*.lan", "Mixed.Case"])
        lines.append(f"Host {pattern}")
        for _ in range(rng.randint(1, 6)):
            name, kind, values = rng.choice(usable)
            if name in ("canonicalizehostname", "forkafterauthentication"):
                continue  # would look names up; ssh wants a command
            value = random_value(rng, name, kind, values)
            spelled = rng.choice([name, name.capitalize(), name.upper()])
            sep = rng.choice([" ", " ", "=", " = ", "\t", "  "])
            if rng.random() < 0.1 and " " not in value:
                value = f'"{value}"'
            tail = rng.choice(["", "", "", " # comment", "  ", "\r"])
            lines.append(f"{rng.choice(['  ', '', chr(9)])}{spelled}{sep}{value}{tail}")
            if rng.random() < 0.05:
                lines.append(rng.choice(["", "# just a comment", "   "]))
        if rng.random() < 0.3:
            lines.append(rng.choice(MATCHES))
            lines.append("  " + rng.choice(["User matched", "Port 2345",
                                            "IdentityFile ~/.ssh/matched",
                                            "Ciphers -aes128-ctr"]))
    return "\n".join(lines) + "\n"


MATCHES = ["Match originalhost alpha", "Match host *.example", "Match !host beta",
           "Match user alice", "Match localuser root", "Match exec true",
           "Match exec \"test %h = beta\"", "Match final", "Match canonical",
           "Match final host gamma*", "Match all", "Match !localuser nobody user bob"]


def random_args(rng, table, host):
    """A destination with command-line options, as ssh takes them."""
    args = []
    for _ in range(rng.choice([0, 0, 1, 2])):
        kind = rng.random()
        if kind < 0.15:
            args += ["-p", rng.choice(["2022", "22"])]
        elif kind < 0.3:
            args += ["-l", rng.choice(["cliuser", "root"])]
        elif kind < 0.4:
            args += ["-J", rng.choice(["j1", "u@j2:2200,j3", "none"])]
        else:
            usable = [t for t in table if t[0] not in ("proxycommand", "localcommand",
                                                        "remotecommand", "knownhostscommand",
                                                        "canonicalizehostname",
                                                        "forkafterauthentication",
                                                        "sessiontype")]
            name, kind_, values = rng.choice(usable)
            value = random_value(rng, name, kind_, values)
            if value is not None and " " not in value:
                args += ["-o", f"{name}={value}"]
    if rng.random() < 0.2:
        host = rng.choice(["someone@", "ssh://uri@"]) + host
    return args + [host]


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    jumpfs, table_bin = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    count = int(sys.argv[sys.argv.index("--random") + 1]) if "--random" in sys.argv else 300
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 20261201
    if os.environ.get("JUMPFS_DIFF_INSIDE") != "1":
        if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ssh") is None:
            print("# skip: needs root, unshare(1) and ssh (a private mount and network "
                  "namespace keeps /etc/ssh and ~root untouched and DNS unreachable)")
            return SKIP
        env = dict(os.environ, JUMPFS_DIFF_INSIDE="1")
        return subprocess.run(["unshare", "-mn", "--propagation", "private",
                               sys.executable] + sys.argv, env=env).returncode

    tmp = tempfile.mkdtemp(prefix="jumpfs-ssh-g-")
    try:
        return run_all(jumpfs, table_bin, count, seed, Lab(tmp))
    finally:
        for mount in ("/etc/resolv.conf", "/root", "/etc/ssh"):
            subprocess.run(["umount", mount], check=False, stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)


def run_all(jumpfs, table_bin, count, seed, lab):
    lab.install({})
    for source, target in ((lab.etc, "/etc/ssh"), (lab.home, "/root"),
                           ("/dev/null", "/etc/resolv.conf")):
        subprocess.run(["mount", "--bind", str(source), target], check=True)
    # Files are installed into lab.home, never into /root itself: make sure
    # they are the same directory before anything runs.
    if os.stat("/root").st_ino != os.stat(lab.home).st_ino:
        print("# /root is not the test's home: refusing to run")
        return 1
    os.environ.pop("SSH_AUTH_SOCK", None)
    os.environ["SHELL"] = "/bin/sh"
    os.chdir("/")

    failures, compared = [], 0
    for case in sorted(CORPUS.glob("*.case")):
        files, dests = load_case(case)
        lab.install(files)
        for args in dests:
            diffs = compare(jumpfs, args, f"{case.name} [{' '.join(args)}]")
            compared += 1
            failures += diffs
    table = config_table(table_bin)
    rng = random.Random(seed)
    for i in range(count):
        text = random_config(rng, table)
        files = {"~/.ssh/config": text}
        if rng.random() < 0.3:  # a system config, and an Include of it
            files["/etc/ssh/ssh_config"] = "Include ssh_config.d/*.conf\n" + \
                random_config(rng, table)
            files["/etc/ssh/ssh_config.d/10-x.conf"] = random_config(rng, table)
            text += "--- /etc/ssh/ssh_config:\n" + files["/etc/ssh/ssh_config"]
            text += "--- 10-x.conf:\n" + files["/etc/ssh/ssh_config.d/10-x.conf"]
        if rng.random() < 0.2:
            files["~/.ssh/config"] = "Include inc/*\n" + files["~/.ssh/config"]
            files["~/.ssh/inc/a"] = random_config(rng, table)
            text += "--- ~/.ssh/inc/a:\n" + files["~/.ssh/inc/a"]
        lab.install(files)
        for host in rng.sample(HOSTS, 2):
            args = random_args(rng, table, host)
            diffs = compare(jumpfs, args, f"random #{i} {' '.join(args)}")
            compared += 1
            if diffs:
                failures += diffs + ["--- config:\n" + text]
    for f in failures:
        print(f)
    print(f"# {compared} destinations compared, {len(failures)} differences")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
