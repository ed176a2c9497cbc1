"""A real multi-host MPI run on one machine: network namespaces act as hosts.

Two namespaces ``h0``, ``h1`` (private addresses 10.77.0.1-2 on a bridge that
lives in a third namespace, so no traffic leaves them) each host two ranks.  MPICH's
``mpiexec`` runs inside ``h0`` with a hostfile of the two addresses and a launcher
(``-launcher ssh -launcher-exec``) that starts each host's proxy with
``ip netns exec``.  Every rank reads its own CSV file.

Checked: results equal batch; the per-node thread policy counts the ranks of
its host (2), not of the job (4); ranks group by host for the once-per-node
compile (one node-local rank 0 per host); a rank lost on one host (killed, or
leaving the program) fails the whole job with a message.  Needs root, ``ip``
(iproute2) and network-namespace support; otherwise skipped, saying which.
"""
import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from mpi_tools import mpiexec, requires_mpi

HOSTS = 2
RANKS_PER_HOST = 2
NRANKS = HOSTS * RANKS_PER_HOST
SUBNET = "10.77.0"


def _ip(*args, ns=None, check=True):
    cmd = ["ip", *(["netns", "exec", ns, "ip"] if ns else []), *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=30)


def _why_not():
    if sys.platform != "linux":
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "needs root to create network namespaces (CI runs as root)"
    if shutil.which("ip") is None:
        return "needs the 'ip' command (apt-get install iproute2)"
    return None


class Hosts:
    """Namespaces ``<prefix>-h<i>`` joined by a bridge in ``<prefix>-sw``."""

    def __init__(self, prefix, n):
        self.prefix, self.n = prefix, n
        self.switch = f"{prefix}-sw"
        self.names = [f"{prefix}-h{i}" for i in range(n)]
        self.addresses = [f"{SUBNET}.{i + 1}" for i in range(n)]

    def create(self):
        _ip("netns", "add", self.switch)
        _ip("link", "add", "br0", "type", "bridge", ns=self.switch)
        _ip("link", "set", "br0", "up", ns=self.switch)
        for i, (ns, addr) in enumerate(zip(self.names, self.addresses)):
            _ip("netns", "add", ns)
            _ip("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name",
                f"port{i}", "netns", self.switch)
            _ip("link", "set", f"port{i}", "master", "br0", "up", ns=self.switch)
            _ip("addr", "add", f"{addr}/24", "dev", "eth0", ns=ns)
            _ip("link", "set", "eth0", "up", ns=ns)
            _ip("link", "set", "lo", "up", ns=ns)

    def remove(self):
        for ns in [*self.names, self.switch]:
            _ip("netns", "del", ns, check=False)

    def rx_bytes(self, i):
        out = _ip("-s", "-j", "link", "show", "eth0", ns=self.names[i]).stdout
        return json.loads(out)[0]["stats64"]["rx"]["bytes"]


@pytest.fixture(scope="module")
def hosts():
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    net = Hosts(f"d4p{os.getpid() % 100000}", HOSTS)
    try:
        net.create()
    except subprocess.CalledProcessError as exc:
        net.remove()
        pytest.skip(f"cannot create network namespaces here: {exc.stderr.strip()}")
    try:
        yield net
    finally:
        net.remove()


@pytest.fixture(scope="module")
def cluster(hosts, tmp_path_factory):
    """Write the hostfile, the launcher and each rank's data file."""
    work = tmp_path_factory.mktemp("multihost")
    (work / "hosts").write_text("".join(f"{a}:{RANKS_PER_HOST}\n" for a in hosts.addresses))
    mapping = " ".join(f'{a}) ns={n} ;;' for a, n in zip(hosts.addresses, hosts.names))
    launcher = work / "netns-launch.sh"
    launcher.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        # hydra's ssh launcher calls: LAUNCHER -x HOST COMMAND...; run the command
        # (hydra's proxy) inside HOST's network namespace instead of over ssh.
        [ "$1" = "-x" ] && shift
        host=$1; shift
        case "$host" in {mapping} *) echo "unknown host $host" >&2; exit 1 ;; esac
        exec ip netns exec "$ns" sh -c "$*"
        """))
    launcher.chmod(0o755)
    rng = np.random.default_rng(42)
    X = rng.normal(size=(40, 3)) * [1.0, 10.0, 0.1] + [0.0, 5.0, -2.0]
    y = X @ [1.5, -0.5, 2.0] + 0.25 + rng.normal(scale=0.01, size=40)
    data = np.column_stack([X, y])
    bounds = [0, 7, 7, 22, 40]  # uneven, rank 1 has no rows
    for r in range(NRANKS):
        np.savetxt(work / f"part_{r}.csv", data[bounds[r]:bounds[r + 1]], delimiter=",")
    (work / "job.py").write_text(JOB)
    return work, data


JOB = textwrap.dedent('''
    import json, os, signal, subprocess, sys
    import numpy as np
    import d4p
    from d4p._engine import NODE_POLICY, current_comm

    mode, out = sys.argv[1], sys.argv[2]
    rank = d4p.my_procid()
    part = np.loadtxt(os.path.join(os.path.dirname(__file__), f"part_{rank}.csv"),
                      delimiter=",", ndmin=2).reshape(-1, 4)
    if mode == "kill" and rank == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "leave" and rank == 3:
        sys.exit(0)
    X, y = part[:, :3], part[:, 3:]
    cov = d4p.covariance(distributed=True).compute(X)
    mom = d4p.low_order_moments(distributed=True).compute(X)
    lin = d4p.linear_regression_training(interceptFlag=True, distributed=True).compute(X, y)
    comm = current_comm()
    MPI = comm._MPI
    local = comm.mpi_comm.Split_type(MPI.COMM_TYPE_SHARED)
    ns = subprocess.run(["ip", "netns", "identify", str(os.getpid())],
                        capture_output=True, text=True).stdout.strip()
    me = {"rank": rank, "ns": ns, "node_rank": local.Get_rank(),
          "node_size": local.Get_size(), "policy": NODE_POLICY["ranks_on_node"]}
    everyone = comm.allgather(me)
    if rank == 0:
        with open(out, "w") as fh:
            json.dump({"ranks": everyone, "covariance": cov.covariance.tolist(),
                       "mean": mom.mean.tolist(), "variance": mom.variance.tolist(),
                       "beta": lin.model.Beta.tolist()}, fh)
''')


def _run(hosts, work, mode, timeout=180):
    env = {k: v for k, v in os.environ.items() if k != "D4P_COMM"}
    env.update({"D4P_TIMEOUT": "0", "D4P_NO_WARMUP": "1"})
    out = work / f"{mode}.json"
    cmd = ["ip", "netns", "exec", hosts.names[0], mpiexec(), "-localhost", hosts.addresses[0],
           "-f", str(work / "hosts"), "-n", str(NRANKS), "-launcher", "ssh",
           "-launcher-exec", str(work / "netns-launch.sh"),
           sys.executable, str(work / "job.py"), mode, str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    return proc, out


@requires_mpi
@pytest.mark.timeout(300)
def test_two_hosts_results_equal_batch_and_per_host_policy(hosts, cluster):
    work, data = cluster
    before = hosts.rx_bytes(1)
    proc, out = _run(hosts, work, "ok")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = json.loads(out.read_text())
    X, y = data[:, :3], data[:, 3]
    np.testing.assert_allclose(got["covariance"], np.cov(X, rowvar=False), rtol=1e-10)
    np.testing.assert_allclose(np.ravel(got["mean"]), X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(np.ravel(got["variance"]), X.var(axis=0, ddof=1), rtol=1e-10)
    coef = np.linalg.lstsq(np.column_stack([np.ones(len(X)), X]), y, rcond=None)[0]
    np.testing.assert_allclose(np.ravel(got["beta"]), coef, rtol=1e-8, atol=1e-10)

    ranks = got["ranks"]
    # Each host's ranks run in its namespace (hydra fills hosts in order).
    assert [r["ns"] for r in ranks] == [n for n in hosts.names for _ in range(RANKS_PER_HOST)]
    # The thread policy counts the ranks of this host, not of the job.
    assert {r["policy"] for r in ranks} == {RANKS_PER_HOST}
    # Node-local groups are exactly the hosts: one node rank 0 (the rank that
    # compiles for its node) per host.
    for ns in hosts.names:
        on_host = [r for r in ranks if r["ns"] == ns]
        assert sorted(r["node_rank"] for r in on_host) == list(range(RANKS_PER_HOST))
        assert {r["node_size"] for r in on_host} == {RANKS_PER_HOST}
    assert sum(r["node_rank"] == 0 for r in ranks) == HOSTS
    # The second host was really reached over its own link.
    assert hosts.rx_bytes(1) > before


@requires_mpi
@pytest.mark.timeout(300)
def test_rank_killed_on_one_host_fails_the_whole_job(hosts, cluster):
    work, _ = cluster
    proc, out = _run(hosts, work, "kill")
    assert proc.returncode != 0
    assert not out.exists()
    text = proc.stdout + proc.stderr
    assert "BAD TERMINATION" in text and ("KILLED BY SIGNAL: 9" in text or "EXIT CODE: 9" in text), text


@requires_mpi
@pytest.mark.timeout(300)
def test_rank_leaving_on_one_host_fails_the_others_with_a_message(hosts, cluster):
    work, _ = cluster
    proc, out = _run(hosts, work, "leave")
    assert proc.returncode != 0
    assert not out.exists()
    message = "d4p.RankError: rank 3 finished the program without joining covariance.compute\n"
    assert proc.stderr.count(message) == NRANKS - 1, proc.stderr
