"""A throwaway single-node SLURM cluster on this machine, for the SLURM test
and ``benchmarks/slurm_scaling.py``.

``LocalSlurm(folder, cpus)`` starts, as the current user (root), the daemons
of a real cluster with every state, spool, socket and log file under
``folder``: ``munged`` (authentication), a MariaDB server and ``slurmdbd``
(job accounting: snakemake-executor-plugin-slurm 1.4 asks ``sacct`` for the
state of its jobs, and ``sacct`` needs the accounting daemon), then
``slurmctld`` and ``slurmd`` for one node with ``cpus`` CPUs and most of this
machine's memory.  Leaving the ``with`` block stops each daemon it started, by
the process id it recorded.  Ports are chosen free at start, so a cluster the
machine already runs is not disturbed.

The packages are Debian's: ``slurm-wlm``, ``slurmdbd``, ``munge`` and
``mariadb-server``.  ``missing_packages()`` says which commands are absent;
``install_packages()`` installs them with apt-get where that is possible.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

#: The commands the cluster needs, and the Debian package of each.
COMMANDS = {"munged": "munge", "mungekey": "munge", "mariadbd": "mariadb-server",
            "mariadb-install-db": "mariadb-server", "slurmdbd": "slurmdbd",
            "slurmctld": "slurm-wlm", "slurmd": "slurm-wlm", "sbatch": "slurm-wlm",
            "sacct": "slurm-wlm"}
#: Where Debian puts the daemons (not always on a user's PATH).
SBIN = ("/usr/sbin", "/sbin")
CLUSTER = "leukoct"


def _which(command: str) -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), *SBIN])
    return shutil.which(command, path=path)


def missing_packages() -> list[str]:
    """The Debian packages whose commands are not installed, in order."""
    return sorted({package for command, package in COMMANDS.items() if _which(command) is None})


def install_packages(packages: list[str], timeout: int = 600) -> str | None:
    """Install ``packages`` with apt-get; ``None`` on success, else why not.

    Only as root and where apt-get exists; the daemons are not enabled or
    started by the install (Debian starts them as services only under systemd,
    which containers and CI runners do not run as their init).
    """
    if os.geteuid() != 0:
        return "not root: cannot apt-get install " + " ".join(packages)
    if shutil.which("apt-get") is None:
        return "no apt-get on this machine"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]):
        try:
            result = subprocess.run(command, capture_output=True, text=True, env=env,
                                    timeout=timeout)
        except subprocess.TimeoutExpired:
            return f"{' '.join(command[:2])} took more than {timeout} s"
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["?"]
            return f"{' '.join(command[:2])} failed: {tail[0]}"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_memory_mb() -> int:
    """Memory the node offers SLURM: 85 % of this machine's (slurmd drains a
    node that claims more than it has)."""
    with open("/proc/meminfo") as meminfo:
        total_kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:"))
    return int(total_kb / 1024 * 0.85)


class SlurmError(RuntimeError):
    """A daemon of the local cluster did not start; the message names its log."""


class LocalSlurm:
    """A one-node SLURM cluster under ``folder``, as a context manager.

    Parameters
    ----------
    folder
        Holds the configuration, state, spool, sockets and logs (``log/``).
    cpus
        CPUs of the node (at most this machine's).
    """

    def __init__(self, folder: Path, cpus: int) -> None:
        self.folder = Path(folder)
        self.cpus = cpus
        self.pids: dict[str, int] = {}
        self._mariadb: subprocess.Popen | None = None
        self.conf = self.folder / "slurm.conf"
        self.node = socket.gethostname().split(".")[0]

    @property
    def env(self) -> dict[str, str]:
        """The environment in which SLURM's commands talk to this cluster."""
        return {**os.environ, "SLURM_CONF": str(self.conf),
                "PATH": os.pathsep.join([os.environ.get("PATH", ""), *SBIN]),
                # The plugin reads USER to guess an account; a CI shell may lack it.
                "USER": os.environ.get("USER", "root")}

    def __enter__(self) -> LocalSlurm:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, *command: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(list(command), capture_output=True, text=True, env=self.env,
                              timeout=60, **kwargs)

    def _wait(self, name: str, pid_file: Path, ready, log: Path, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pid_file.is_file() and pid_file.read_text().strip() and name not in self.pids:
                self.pids[name] = int(pid_file.read_text().split()[0])
            if name in self.pids and ready():
                return
            time.sleep(0.3)
        raise SlurmError(f"{name} did not start within {timeout:.0f} s; its log: {log}")

    def _start(self) -> None:
        f = self.folder
        for sub in ("munge", "state", "spool", "log", "db"):
            (f / sub).mkdir(parents=True, exist_ok=True)
        (f / "munge").chmod(0o700)
        logs = f / "log"
        # munge: the key, then the daemon on its own socket.
        key, sock = f / "munge" / "munge.key", f / "munge" / "munge.sock"
        self._run("mungekey", "--create", "--keyfile", str(key), check=True)
        self._run("munged", "--key-file", str(key), "--socket", str(sock), "--force",
                  "--pid-file", str(f / "munge" / "munged.pid"), "--seed-file",
                  str(f / "munge" / "seed"), "--log-file", str(logs / "munged.log"), check=True)
        self._wait("munged", f / "munge" / "munged.pid", sock.exists, logs / "munged.log")
        # MariaDB for slurmdbd, on a free local port, its files under db/.
        db_port, dbd_port = _free_port(), _free_port()
        self._run("mariadb-install-db", "--no-defaults", f"--datadir={f / 'db'}", "--user=root",
                  "--auth-root-authentication-method=normal", "--skip-test-db", check=True)
        db_sock = f / "mariadb.sock"
        self._mariadb = subprocess.Popen([_which("mariadbd"), "--no-defaults", f"--datadir={f / 'db'}",
                          f"--socket={db_sock}", f"--port={db_port}", "--bind-address=127.0.0.1",
                          f"--pid-file={f / 'mariadb.pid'}", "--user=root", "--skip-name-resolve",
                          f"--log-error={logs / 'mariadb.log'}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
        self._wait("mariadbd", f / "mariadb.pid", db_sock.exists, logs / "mariadb.log")
        self._run("mariadb", "--no-defaults", f"--socket={db_sock}", "-uroot", "-e",
                  "CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';"
                  " GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';", check=True)
        ctld_port, slurmd_port = _free_port(), _free_port()
        (f / "slurmdbd.conf").write_text("\n".join([
            "AuthType=auth/munge", f"AuthInfo=socket={sock}", "DbdHost=localhost",
            "DbdAddr=127.0.0.1", f"DbdPort={dbd_port}", "SlurmUser=root",
            f"LogFile={logs / 'slurmdbd.log'}", f"PidFile={f / 'slurmdbd.pid'}",
            "StorageType=accounting_storage/mysql", "StorageHost=127.0.0.1",
            f"StoragePort={db_port}", "StorageUser=slurm", "StoragePass=slurm",
            "StorageLoc=slurm_acct_db", ""]))
        (f / "slurmdbd.conf").chmod(0o600)      # slurmdbd refuses a readable one
        self.conf.write_text("\n".join([
            f"ClusterName={CLUSTER}", f"SlurmctldHost={self.node}(127.0.0.1)",
            "SlurmUser=root", "SlurmdUser=root", "AuthType=auth/munge", "CredType=cred/munge",
            f"AuthInfo=socket={sock}", f"SlurmctldPort={ctld_port}", f"SlurmdPort={slurmd_port}",
            f"StateSaveLocation={f / 'state'}", f"SlurmdSpoolDir={f / 'spool'}",
            f"SlurmctldPidFile={f / 'slurmctld.pid'}", f"SlurmdPidFile={f / 'slurmd.pid'}",
            f"SlurmctldLogFile={logs / 'slurmctld.log'}", f"SlurmdLogFile={logs / 'slurmd.log'}",
            # No cgroups in a container: track processes by their parent.
            "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "MpiDefault=none",
            # Cores and memory are consumable: without these one job takes the
            # whole node (all its memory), and jobs run one at a time.
            "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core_Memory",
            "DefMemPerCPU=1000",
            "AccountingStorageType=accounting_storage/slurmdbd",
            "AccountingStorageHost=127.0.0.1", f"AccountingStoragePort={dbd_port}",
            # The munge socket for slurmdbd (the default is /run/munge's).
            f"AccountingStoragePass={sock}", "AccountingStoreFlags=job_comment",
            # Memory limits enforced by polling (a cluster's cgroups do it there):
            # a job above its --mem is killed, as on a cluster.
            "JobAcctGatherType=jobacct_gather/linux", "JobAcctGatherFrequency=2",
            "JobAcctGatherParams=OverMemoryKill",
            "JobCompType=jobcomp/none", "ReturnToService=2",
            f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} "
            f"RealMemory={node_memory_mb()} State=UNKNOWN",
            "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP", ""]))
        self._run("slurmdbd", check=True)
        self._wait("slurmdbd", f / "slurmdbd.pid",
                   lambda: self._run("sacctmgr", "-n", "list", "cluster").returncode == 0,
                   logs / "slurmdbd.log")
        self._run("sacctmgr", "-i", "add", "cluster", CLUSTER)
        self._run("slurmctld", "-i", check=True)
        self._wait("slurmctld", f / "slurmctld.pid",
                   lambda: self._run("scontrol", "ping").returncode == 0, logs / "slurmctld.log")
        self._run("slurmd", check=True)
        self._wait("slurmd", f / "slurmd.pid", self._node_idle, logs / "slurmd.log")

    def _node_idle(self) -> bool:
        state = self._run("sinfo", "-h", "-o", "%T").stdout.strip()
        return state == "idle"

    def stop(self) -> None:
        """Stop the daemons this cluster started, newest first, by process id."""
        for name in reversed(list(self.pids)):
            pid = self.pids.pop(name)
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            if self._mariadb is not None and pid == self._mariadb.pid:
                try:          # our own child: wait reaps it
                    self._mariadb.wait(timeout=15)
                    continue
                except subprocess.TimeoutExpired:
                    pass
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.2)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def jobs(self) -> list[dict[str, str]]:
        """Every job the accounting recorded: id, state, comment, start, end, CPUs."""
        fields = ["JobIDRaw", "State", "Comment", "Start", "End", "AllocCPUS", "ReqMem"]
        result = self._run("sacct", "-X", "--parsable2", "--noheader", "--allusers",
                           "--starttime", "now-1days", "--format", ",".join(fields))
        if result.returncode != 0:
            raise SlurmError(f"sacct failed: {result.stderr.strip()}")
        return [dict(zip(fields, line.split("|"))) for line in result.stdout.splitlines() if line]
