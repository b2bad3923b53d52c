"""The cluster build with real processes and real sockets: local ipc:// workers, tcp:// and tls+tcp://
workers started by hand, a worker in its own network namespace, killed workers, a killed coordinator
resumed, bad tokens and malformed messages. Every run must give the bytes of the W = 1 build."""
import json, os, re, shutil, signal, socket, subprocess, time
import numpy as np
import pytest
import hnswlib
from conftest import TRAINER, exact_topk, recall, trainer

TOKEN = "cluster-test-token-0123456789abcdef"
ENV = dict(os.environ, TRAINER_CLUSTER_TOKEN=TOKEN)
BUILD = ["-M", "16", "--ef-construction", "100"]


def mixture(n, d, seed, k=40):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, d), dtype=np.float32) * 4
    return (centres[rng.integers(0, k, n)] + rng.standard_normal((n, d), dtype=np.float32)).astype(np.float32)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(vectors, out, *extra, env=ENV, check=True):
    p = subprocess.run([TRAINER, "build-index", "--vectors", str(vectors), "--out", str(out), *BUILD, "--json", *map(str, extra)],
                       capture_output=True, text=True, env=env, timeout=600)
    if check:
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout.strip().splitlines()[-1]), p.stderr
    return p


class Coordinator:
    """A listen-mode coordinator whose log goes to a file the test can watch."""

    def __init__(self, tmp, vectors, out, url, *extra):
        self.log_path = tmp / f"coordinator-{time.monotonic_ns()}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([TRAINER, "build-index", "--vectors", str(vectors), "--out", str(out), *BUILD, "--json",
                                      "--listen", url, "--work-dir", str(tmp / "work"), *map(str, extra)],
                                     stdout=subprocess.PIPE, stderr=self.log, text=True, env=ENV)

    def text(self):
        return self.log_path.read_text()

    def wait_for(self, needle, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if needle in self.text():
                return
            assert self.proc.poll() is None, f"coordinator exited early:\n{self.text()}"
            time.sleep(0.01)
        raise AssertionError(f"'{needle}' never appeared in the coordinator log:\n{self.text()}")

    def result(self, timeout=300):
        out, _ = self.proc.communicate(timeout=timeout)
        self.log.close()
        assert self.proc.returncode == 0, self.text()
        return json.loads(out.strip().splitlines()[-1])


def worker(url, *extra, env=ENV, name="w"):
    return subprocess.Popen([TRAINER, "worker", "--connect", url, "--threads", "1", "--give-up-after", "20", "--name", name,
                             *map(str, extra)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("cluster")
    np.save(d / "x.npy", mixture(20_000, 32, 1))
    build(d / "x.npy", d / "ref.bin", "--workers", 1, "--shards", 4)
    return d, (d / "ref.bin").read_bytes()


@pytest.fixture(scope="module")
def slow(tmp_path_factory):
    """Shards that take a few tenths of a second each on one thread, so that kills land mid-run."""
    d = tmp_path_factory.mktemp("cluster-slow")
    np.save(d / "x.npy", mixture(40_000, 64, 2))
    build(d / "x.npy", d / "ref.bin", "--workers", 2, "--shards", 8, "--threads", 2)
    return d, (d / "ref.bin").read_bytes()


@pytest.mark.parametrize("workers", [2, 3])
def test_local_ipc_workers_give_the_bytes_of_one_worker(data, tmp_path, workers):
    d, ref = data
    meta, _ = build(d / "x.npy", tmp_path / "i.bin", "--workers", workers, "--shards", 4)
    assert (tmp_path / "i.bin").read_bytes() == ref
    c = meta["cluster"]
    assert c["mode"] == "local" and c["workers"] == workers and c["jobs_run"] == 8  # 4 shard builds + 4 refinements
    assert sum(c["shard_sizes"]) == 20_000 and max(c["shard_sizes"]) <= 6000  # k-means shards, capped at 1.2 × the mean
    assert len(c["centroids"]) == 4 * 32 and c["boundary_elements"] > 0
    assert sum(c["jobs_per_worker"].values()) == 8


@pytest.mark.parametrize("workers", [2, 3])
def test_tcp_workers_give_the_bytes_of_one_worker(data, tmp_path, workers):
    d, ref = data
    url = f"tcp://127.0.0.1:{free_port()}"
    coord = Coordinator(tmp_path, d / "x.npy", tmp_path / "t.bin", url, "--shards", 4)
    ws = [worker(url, name=f"tcp-{k}") for k in range(workers)]
    meta = coord.result()
    for w in ws:
        assert w.wait(timeout=30) == 0, w.stderr.read()
    assert (tmp_path / "t.bin").read_bytes() == ref
    assert meta["cluster"]["mode"] == "cluster" and meta["cluster"]["jobs_run"] == 8


def test_worker_killed_mid_job_is_replaced_and_the_bytes_do_not_change(slow, tmp_path):
    d, ref = slow
    url = f"tcp://127.0.0.1:{free_port()}"
    coord = Coordinator(tmp_path, d / "x.npy", tmp_path / "k.bin", url, "--shards", 8)
    victim = worker(url, name="victim")
    coord.wait_for("job leased attempt=1 shard=0 worker=victim")
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    rescuer = worker(url, name="rescuer")
    meta = coord.result()
    assert rescuer.wait(timeout=30) == 0
    assert (tmp_path / "k.bin").read_bytes() == ref
    c = meta["cluster"]
    assert c["retries"] >= 1 and c["jobs_per_worker"]["rescuer"] == 16
    assert "worker disconnected mid-job" in coord.text()


def test_worker_with_the_wrong_token_gets_no_job(data, tmp_path):
    d, ref = data
    url = f"tcp://127.0.0.1:{free_port()}"
    coord = Coordinator(tmp_path, d / "x.npy", tmp_path / "a.bin", url, "--shards", 4)
    intruder = worker(url, name="intruder", env=dict(os.environ, TRAINER_CLUSTER_TOKEN="not-the-token-0123456789"))
    _, err = intruder.communicate(timeout=30)
    assert intruder.returncode == 2
    assert "refused this worker" in err and "token does not match" in err
    honest = worker(url, name="honest")
    meta = coord.result()
    assert honest.wait(timeout=30) == 0
    assert (tmp_path / "a.bin").read_bytes() == ref
    assert "worker=intruder" not in coord.text().replace("peer=intruder", "")
    assert "failed authentication" in coord.text()
    assert meta["cluster"]["jobs_per_worker"] == {"honest": 8}


def test_a_worker_without_a_token_is_told_how_to_set_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TRAINER_CLUSTER_TOKEN"}
    p = subprocess.run([TRAINER, "worker", "--connect", "tcp://127.0.0.1:1"], capture_output=True, text=True, env=env)
    assert p.returncode == 2 and "TRAINER_CLUSTER_TOKEN" in p.stderr


PROTOCOL = 4
CHUNK_BYTES = 1 << 20
# The coordinator's receive cap (WireMessage.coordinatorSocketCap): a whole RESULT_CHUNK and
# room for the SP header nng counts with it.
RECEIVE_CAP = 16 + 40 + CHUNK_BYTES + 64


def frame(msg_type, payload, version=PROTOCOL, magic=b"RCTW", crc=None):
    import zlib
    c = zlib.crc32(payload) if crc is None else crc
    return magic + version.to_bytes(2, "little") + msg_type.to_bytes(2, "little") + len(payload).to_bytes(4, "little") \
        + c.to_bytes(4, "little") + payload


def test_malformed_truncated_and_oversized_messages_are_rejected_and_the_run_completes(data, tmp_path):
    import pynng
    d, ref = data
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    coord = Coordinator(tmp_path, d / "x.npy", tmp_path / "m.bin", url, "--shards", 4, "--max-message-mib", 1)
    coord.wait_for("coordinator listening")
    hello = frame(1, (6).to_bytes(2, "little") + b"fuzzer")
    bad = {
        "garbage": os.urandom(64),
        "truncated header": hello[:9],
        "truncated payload": hello[:-3],
        "bad magic": frame(6, b"", magic=b"XXXX"),
        "future version": frame(6, b"", version=7),
        "bad checksum": frame(1, (6).to_bytes(2, "little") + b"fuzzer", crc=12345),
        "unknown type": frame(77, b""),
        "oversized control message": frame(6, bytes(5000)),
        "ready before authentication": frame(6, b""),
        "a STOP sent by a worker": frame(9, b""),
        "a malformed job": frame(7, bytes(45)),
        "auth without hello": frame(3, bytes(64)),
        "oversized beyond the socket cap": frame(10, bytes(2 << 20)),
    }
    for name, msg in bad.items():
        with pynng.Req0(dial=f"tcp://127.0.0.1:{port}", recv_timeout=1500, send_timeout=1500, resend_time=-1,
                        recv_max_size=1 << 20) as s:
            s.send(msg)
            try:
                reply = s.recv()
            except (pynng.Timeout, pynng.exceptions.NNGException):
                reply = None
            assert reply is None, f"{name}: the coordinator answered {reply[:16]!r}"
    assert coord.proc.poll() is None, "the coordinator must keep going"
    good = worker(url, name="good")
    meta = coord.result()
    assert good.wait(timeout=30) == 0
    assert (tmp_path / "m.bin").read_bytes() == ref
    log = coord.text()
    for reason in ["protocol magic", "protocol version 7", "checksum", "unknown message type 77", "exceeds its cap",
                   "READY before authentication", "never sent by a worker", "malformed JOB message", "AUTH without a HELLO", "shorter than the 16-byte header"]:
        assert reason in log, reason
    assert meta["cluster"]["rejected_messages"] >= 10


def test_killed_coordinator_resumes_and_redoes_only_the_lost_work(slow, tmp_path):
    d, ref = slow
    work = tmp_path / "work"
    args = [TRAINER, "build-index", "--vectors", str(d / "x.npy"), "--out", str(tmp_path / "r.bin"), *BUILD, "--json",
            "--workers", "1", "--shards", "8", "--threads", "1", "--work-dir", str(work)]
    first = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(work.glob("shard-*.graph"))) < 2:
        assert first.poll() is None, "the first run ended before it could be killed"
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait()
    kept = len(list(work.glob("shard-*.graph"))) + len(list(work.glob("refine-*.msg")))
    assert 2 <= kept < 16
    assert not (tmp_path / "r.bin").exists(), "nothing is published by a killed run"
    p = subprocess.run(args + ["--resume"], capture_output=True, text=True, env=ENV, timeout=300)
    assert p.returncode == 0, p.stderr
    c = json.loads(p.stdout.strip().splitlines()[-1])["cluster"]
    assert c["resumed_jobs"] == kept and c["jobs_run"] == 16 - kept
    assert (tmp_path / "r.bin").read_bytes() == ref
    assert not work.exists(), "the work folder is removed after a finished build"
    assert "message rejected" not in p.stderr, p.stderr


def test_resume_refuses_a_work_folder_of_another_build(data, tmp_path):
    d, _ = data
    work = tmp_path / "work"
    work.mkdir()
    (work / ".trainer-work-folder").write_text("routing-candidates trainer work folder\n")
    (work / "plan.txt").write_text("0" * 64)
    p = build(d / "x.npy", tmp_path / "o.bin", "--workers", 1, "--shards", 4, "--work-dir", work, "--resume", check=False)
    assert p.returncode == 1 and "belongs to a different build" in p.stderr


def read_graph(path):
    """Level-0 and upper lists of an hnswlib v0.8.0 file, parsed here independently of the trainer."""
    b = open(path, "rb").read()
    h = np.frombuffer(b[:96], dtype=np.uint8)
    q = lambda o: int.from_bytes(b[o:o + 8], "little")
    n, size, max_level, entry = q(16), q(24), int.from_bytes(b[48:52], "little", signed=True), int.from_bytes(b[52:56], "little")
    max_m, max_m0 = q(56), q(64)
    rec = np.frombuffer(b[96:96 + n * size], dtype=np.uint8).reshape(n, size)
    head = rec[:, :4].copy().view(np.uint32)[:, 0] & 0xFFFF
    links0 = rec[:, 4:4 + 4 * max_m0].copy().view(np.uint32)
    pos, upper = 96 + n * size, []
    for i in range(n):
        sz = int.from_bytes(b[pos:pos + 4], "little")
        lists = np.frombuffer(b[pos + 4:pos + 4 + sz], dtype=np.uint32).reshape(-1, max_m + 1) if sz else np.zeros((0, max_m + 1), np.uint32)
        upper.append(lists)
        pos += 4 + sz
    assert pos == len(b)
    return dict(n=n, entry=entry, max_level=max_level, max_m=max_m, max_m0=max_m0, deg0=head, links0=links0, upper=upper)


def check_graph(path):
    g = read_graph(path)
    assert g["deg0"].max() <= g["max_m0"]
    for lists in g["upper"]:
        assert all((row[0] & 0xFFFF) <= g["max_m"] for row in lists)
    assert len(g["upper"][g["entry"]]) == g["max_level"]
    seen = np.zeros(g["n"], bool)
    stack = [g["entry"]]
    seen[g["entry"]] = True
    while stack:
        x = stack.pop()
        for y in g["links0"][x, :g["deg0"][x]]:
            if not seen[y]:
                seen[y] = True
                stack.append(int(y))
    return int(seen.sum())


def test_shards_that_no_refinement_joins_are_joined_on_level_0(tmp_path):
    """With ε 0 almost no element is refined, so the 8 shard graphs meet on level 0 only where the
    reachability repair joins them. The upper layers span all shards and can lead a search into a part
    that level 0 does not reach; the repair must still host every orphan on a reachable element, so
    every element is reachable on level 0 from the entry point, as hnswlib's search needs."""
    x = np.random.default_rng(21).standard_normal((20_000, 16), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    meta, _ = build(tmp_path / "x.npy", tmp_path / "m.bin", "--workers", 2, "--shards", 8, "--refine-epsilon", 0)
    assert meta["cluster"]["orphans_repaired"] >= 7, meta["cluster"]
    assert check_graph(tmp_path / "m.bin") == 20_000
    p = build(tmp_path / "x.npy", tmp_path / "z.bin", "--workers", 2, "--shards", 8, "--refine-max-shards", 0, check=False)
    assert p.returncode == 2 and "--refine-max-shards must be in 1…255, got 0" in p.stderr, p.stderr


def hard_mixture(n, d, seed):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, d), dtype=np.float32) * 1.5
    return (centres[rng.integers(0, 40, n)] + rng.standard_normal((n, d), dtype=np.float32)).astype(np.float32)


def test_merged_index_matches_a_single_build_in_recall_caps_and_reachability(tmp_path):
    """50k Gaussian-mixture items: recall@10 at ef 100 within 0.005 of a single-node build for S = 4
    and within 0.01 for S = 8; every list within its cap; every element reachable; hnswlib loads it."""
    x = hard_mixture(50_000, 32, 3)
    rng = np.random.default_rng(4)
    q = x[rng.choice(len(x), 500, replace=False)] + 0.3 * rng.standard_normal((500, 32), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    build(tmp_path / "x.npy", tmp_path / "single.bin", "--threads", 2)
    for s in (4, 8):
        build(tmp_path / "x.npy", tmp_path / f"merged{s}.bin", "--workers", 2, "--shards", s, "--threads", 2)
    truth = exact_topk(x, q, 10, "cosine")
    r = {}
    for name in ["single", "merged4", "merged8"]:
        idx = hnswlib.Index(space="cosine", dim=32)
        idx.load_index(str(tmp_path / f"{name}.bin"))
        assert idx.get_current_count() == 50_000
        idx.set_ef(100)
        labels, _ = idx.knn_query(q, k=10)
        r[name] = recall(labels, truth)
    assert r["merged4"] >= r["single"] - 0.005, r
    assert r["merged8"] >= r["single"] - 0.01, r
    for s in (4, 8):
        assert check_graph(tmp_path / f"merged{s}.bin") == 50_000


def test_tls_workers_give_the_same_bytes(data, tmp_path):
    d, ref = data
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem"), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    port = free_port()
    coord = Coordinator(tmp_path, d / "x.npy", tmp_path / "s.bin", f"tls+tcp://127.0.0.1:{port}", "--shards", 4,
                        "--tls-cert", tmp_path / "cert.pem", "--tls-key", tmp_path / "key.pem")
    w = worker(f"tls+tcp://127.0.0.1:{port}", "--tls-ca", tmp_path / "cert.pem", "--tls-server-name", "localhost", name="tls")
    meta = coord.result()
    assert w.wait(timeout=30) == 0, w.stderr.read()
    assert (tmp_path / "s.bin").read_bytes() == ref
    assert meta["cluster"]["jobs_per_worker"] == {"tls": 8}


def netns_available():
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    name = f"rct-probe-{os.getpid()}"
    ok = subprocess.run(["ip", "netns", "add", name], capture_output=True).returncode == 0
    if ok:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return ok


def test_worker_in_its_own_network_namespace(data, tmp_path):
    if not netns_available():
        pytest.skip("needs root and `ip netns` (network namespaces) to run a worker as a separate host")
    d, ref = data
    ns, host_if, ns_if = f"rct{os.getpid()}", f"rcth{os.getpid() % 10000}", f"rctn{os.getpid() % 10000}"
    net = f"10.{200 + os.getpid() % 50}.{os.getpid() % 250}"

    def ip(*a):
        subprocess.run(["ip", *a], check=True, capture_output=True)

    try:
        ip("netns", "add", ns)
        ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        ip("link", "set", ns_if, "netns", ns)
        ip("addr", "add", f"{net}.1/30", "dev", host_if)
        ip("link", "set", host_if, "up")
        ip("netns", "exec", ns, "ip", "addr", "add", f"{net}.2/30", "dev", ns_if)
        ip("netns", "exec", ns, "ip", "link", "set", ns_if, "up")
        ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
        url = f"tcp://{net}.1:{free_port()}"
        coord = Coordinator(tmp_path, d / "x.npy", tmp_path / "n.bin", url, "--shards", 4)
        w = subprocess.Popen(["ip", "netns", "exec", ns, TRAINER, "worker", "--connect", url, "--threads", "1", "--name", "remote"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        meta = coord.result()
        assert w.wait(timeout=30) == 0, w.stderr.read()
        assert (tmp_path / "n.bin").read_bytes() == ref
        assert meta["cluster"]["jobs_per_worker"] == {"remote": 8}
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_hung_worker_loses_its_job_and_gets_it_back_when_it_goes_on(slow, tmp_path):
    """A worker stopped mid-job shows no progress: its job is taken back one lease later. Resumed with
    nobody else to take the job, its next progress report reclaims it and its result is kept."""
    d, ref = slow
    url = f"tcp://127.0.0.1:{free_port()}"
    coord = Coordinator(tmp_path, d / "x.npy", tmp_path / "h.bin", url, "--shards", 8, "--lease-seconds", 1)
    sleeper = worker(url, name="sleeper")
    coord.wait_for("job leased attempt=1 shard=0 worker=sleeper")
    sleeper.send_signal(signal.SIGSTOP)
    coord.wait_for("no progress from the worker within the lease; job handed out again job=0")
    sleeper.send_signal(signal.SIGCONT)
    meta = coord.result()
    assert sleeper.wait(timeout=30) == 0
    assert (tmp_path / "h.bin").read_bytes() == ref
    c = meta["cluster"]
    assert c["retries"] == 1 and c["jobs_per_worker"] == {"sleeper": 16}
    # Its first report after SIGCONT took the pending job back; had the build finished first, the result was kept as late.
    assert "job taken back by the worker still building it" in coord.text() or c["late_results"] == 1, coord.text()


def test_hung_worker_loses_its_job_to_another(slow, tmp_path):
    d, ref = slow
    url = f"tcp://127.0.0.1:{free_port()}"
    coord = Coordinator(tmp_path, d / "x.npy", tmp_path / "h.bin", url, "--shards", 8, "--lease-seconds", 1)
    sleeper = worker(url, name="sleeper")
    coord.wait_for("job leased attempt=1 shard=0 worker=sleeper")
    sleeper.send_signal(signal.SIGSTOP)
    rescuer = worker(url, name="rescuer")
    coord.wait_for("job leased attempt=2 shard=0 worker=rescuer")
    sleeper.send_signal(signal.SIGCONT)
    meta = coord.result()
    for w in (sleeper, rescuer):
        assert w.wait(timeout=30) == 0
    assert (tmp_path / "h.bin").read_bytes() == ref
    assert meta["cluster"]["retries"] >= 1


def test_a_shard_longer_than_the_lease_on_a_live_worker_completes_once(slow, tmp_path):
    """Leases track progress, not the clock: a shard that takes several leases to build on one
    thread is built once, with no job handed out again."""
    d, _ = slow
    build(d / "x.npy", tmp_path / "ref.bin", "--workers", 1, "--shards", 1)
    url = f"tcp://127.0.0.1:{free_port()}"
    lease = 0.5
    coord = Coordinator(tmp_path, d / "x.npy", tmp_path / "l.bin", url, "--shards", 1, "--lease-seconds", lease)
    steady = worker(url, name="steady")
    meta = coord.result()
    assert steady.wait(timeout=30) == 0
    c = meta["cluster"]
    assert c["shard_build_seconds"][0] > 3 * lease, "the shard must outlast several leases for this test to mean anything"
    assert c["retries"] == 0 and c["jobs_run"] == 1 and c["late_results"] == 0 and c["jobs_per_worker"] == {"steady": 1}
    assert "no progress" not in coord.text() and "dropped" not in coord.text()
    assert (tmp_path / "l.bin").read_bytes() == (tmp_path / "ref.bin").read_bytes()


def test_token_from_a_file_as_a_mounted_secret(data, tmp_path):
    d, ref = data
    secret = tmp_path / "token"
    secret.write_text("file-token-0123456789abcdef\n")
    url = f"tcp://127.0.0.1:{free_port()}"
    coord = Coordinator(tmp_path, d / "x.npy", tmp_path / "f.bin", url, "--shards", 4, "--token-file", secret)
    env = {k: v for k, v in os.environ.items() if k != "TRAINER_CLUSTER_TOKEN"}
    w = worker(url, "--token-file", secret, name="filed", env=env)
    meta = coord.result()
    assert w.wait(timeout=30) == 0, w.stderr.read()
    assert (tmp_path / "f.bin").read_bytes() == ref
    assert meta["cluster"]["jobs_per_worker"] == {"filed": 8}
    p = subprocess.run([TRAINER, "worker", "--connect", url, "--token-file", tmp_path / "missing"], capture_output=True, text=True)
    assert p.returncode == 2 and "cannot read the cluster token file" in p.stderr and "missing" in p.stderr


def chunk(job, attempt, blob, offset, count=None, total=None, micros=1, crc=None):
    """A RESULT_CHUNK payload carrying blob[offset:offset+count] of a result of `total` bytes."""
    import zlib
    data = blob[offset:offset + (len(blob) - offset if count is None else count)]
    total = len(blob) if total is None else total
    crc = zlib.crc32(blob) if crc is None else crc
    return job + attempt + micros.to_bytes(8, "little") + total.to_bytes(8, "little") + crc.to_bytes(4, "little") \
        + offset.to_bytes(8, "little") + len(data).to_bytes(4, "little") + data


class FakeWorker:
    """A worker written here: it holds the token, so it is welcomed; then it sends what a test wants."""

    def __init__(self, url, name):
        import hashlib, hmac
        import pynng
        self.s = pynng.Req0(dial=url, recv_timeout=20_000, send_timeout=5000, resend_time=-1, recv_max_size=64 << 20)
        t, nonce = self.exchange(1, len(name).to_bytes(2, "little") + name.encode())
        assert t == 2
        mac = hmac.new(TOKEN.encode(), b"worker" + nonce, hashlib.sha256).digest()
        t, _ = self.exchange(3, mac + os.urandom(32))
        assert t == 4, "the fake worker holds the token and is welcomed"

    def exchange(self, t, payload):
        self.s.send(frame(t, payload))
        reply = self.s.recv()
        return int.from_bytes(reply[6:8], "little"), reply[16:]

    def job(self):
        t, job = self.exchange(6, b"")
        assert t == 7
        return job[0:4], job[4:8]

    def refused(self, t, payload):
        """Sends one message; the coordinator must answer by closing the connection."""
        import pynng
        self.s.send(frame(t, payload))
        with pytest.raises((pynng.Timeout, pynng.exceptions.NNGException)):
            self.s.recv()
        self.s.close()


def test_authenticated_worker_with_an_invalid_result_is_dropped_and_its_shard_rebuilt(data, tmp_path):
    """A worker that knows the token but returns a damaged graph (sent in two chunks whose checksum
    is right): the coordinator refuses the result, closes that connection, hands the shard to an
    honest worker, and the bytes do not change."""
    d, ref = data
    url = f"tcp://127.0.0.1:{free_port()}"
    coord = Coordinator(tmp_path, d / "x.npy", tmp_path / "v.bin", url, "--shards", 4)
    coord.wait_for("coordinator listening")
    liar = FakeWorker(url, "liar!")
    shard, attempt = liar.job()
    garbage = b"HSG1" + os.urandom(200)
    t, body = liar.exchange(17, chunk(shard, attempt, garbage, 0, count=100))
    assert t == 18 and int.from_bytes(body, "little") == 100, "the first chunk is written and the next asked for"
    liar.refused(17, chunk(shard, attempt, garbage, 100))
    honest = worker(url, name="honest")
    meta = coord.result()
    assert honest.wait(timeout=30) == 0
    assert (tmp_path / "v.bin").read_bytes() == ref
    log = coord.text()
    assert "invalid result; shard handed out again" in log and "invalid RESULT for shard" in log
    assert meta["cluster"]["retries"] >= 1 and meta["cluster"]["jobs_per_worker"]["honest"] == 8
    assert not list((tmp_path / "work").glob("*.tmp-*")) if (tmp_path / "work").exists() else True


def finish_with_an_honest_worker(coord, tmp_path, out, ref, rejected):
    honest = worker(coord.url, name="honest")
    meta = coord.result()
    assert honest.wait(timeout=30) == 0
    assert (tmp_path / out).read_bytes() == ref
    assert meta["cluster"]["jobs_per_worker"]["honest"] == 8
    assert meta["cluster"]["rejected_messages"] >= rejected


def test_chunked_results_that_lie_about_their_size_or_sender_are_refused_by_name(data, tmp_path):
    """An authenticated worker whose RESULT_CHUNK declares a total larger than its job's result can
    be (refused before anything is written), one that sends a chunk of a job it was never leased, a
    whole RESULT message, and a chunk before authentication: each closes its connection with the
    reason in the log, and an honest worker then builds the same bytes."""
    d, ref = data
    url = f"tcp://127.0.0.1:{free_port()}"
    coord = Coordinator(tmp_path, d / "x.npy", tmp_path / "c.bin", url, "--shards", 4)
    coord.url = url
    coord.wait_for("coordinator listening")
    blob = bytes(range(256)) * 8

    big = FakeWorker(url, "big")
    shard, attempt = big.job()
    huge = 1 << 40
    big.refused(17, chunk(shard, attempt, blob, 0, count=64, total=huge))
    coord.wait_for(f"declares a result of {huge} bytes, but that job's result can be at most")
    assert "items at M 16)" in coord.text()
    assert not list((tmp_path / "work").glob("*.tmp-*")), "nothing is written for a refused result"

    stranger = FakeWorker(url, "never-leased")
    stranger.refused(17, chunk((0).to_bytes(4, "little"), (1).to_bytes(4, "little"), blob, 0, count=64))
    coord.wait_for("RESULT_CHUNK for shard 0 from a connection that was never leased that job")

    whole = FakeWorker(url, "whole")
    shard, attempt = whole.job()
    whole.refused(10, shard + attempt + (1).to_bytes(8, "little") + len(blob).to_bytes(4, "little") + blob)
    coord.wait_for(f"a whole RESULT message (protocol {PROTOCOL} sends results as RESULT_CHUNK messages)")

    import pynng
    with pynng.Req0(dial=url, recv_timeout=1500, send_timeout=1500, resend_time=-1) as s:
        s.send(frame(1, (4).to_bytes(2, "little") + b"anon"))
        s.recv()
        s.send(frame(17, chunk((0).to_bytes(4, "little"), (1).to_bytes(4, "little"), blob, 0, count=64)))
        with pytest.raises((pynng.Timeout, pynng.exceptions.NNGException)):
            s.recv()
    coord.wait_for("RESULT_CHUNK before authentication")
    finish_with_an_honest_worker(coord, tmp_path, "c.bin", ref, 4)


def test_chunks_out_of_order_are_refused_by_name_and_leave_nothing_behind(data, tmp_path):
    """Authenticated workers whose chunks start mid-result, skip ahead, or begin another job's result
    while one is unfinished: each is refused with the reason in the log, its partial file is removed,
    and an honest worker then builds the same bytes."""
    d, ref = data
    url = f"tcp://127.0.0.1:{free_port()}"
    coord = Coordinator(tmp_path, d / "x.npy", tmp_path / "o.bin", url, "--shards", 4)
    coord.url = url
    coord.wait_for("coordinator listening")
    blob = bytes(range(256)) * 8

    late = FakeWorker(url, "late-start")
    shard, attempt = late.job()
    late.refused(17, chunk(shard, attempt, blob, 512, count=64))
    coord.wait_for("offset 512 starts no result (expected 0)")

    skip = FakeWorker(url, "skipper")
    shard, attempt = skip.job()
    t, _ = skip.exchange(17, chunk(shard, attempt, blob, 0, count=64))
    assert t == 18
    assert len(list((tmp_path / "work").glob("shard-*.graph.tmp-*"))) == 1, "a chunk goes straight to the work folder"
    skip.refused(17, chunk(shard, attempt, blob, 256, count=64))
    coord.wait_for("offset 256, expected 64")

    switch = FakeWorker(url, "switcher")
    first, attempt = switch.job()
    t, _ = switch.exchange(17, chunk(first, attempt, blob, 0, count=64))
    assert t == 18
    second, attempt2 = switch.job()
    switch.refused(17, chunk(second, attempt2, blob, 0, count=64))
    coord.wait_for(f"while the result of shard {int.from_bytes(first, 'little')} attempt")
    time.sleep(0.5)
    assert not list((tmp_path / "work").glob("*.tmp-*")), "a refused result's partial file is removed"
    finish_with_an_honest_worker(coord, tmp_path, "o.bin", ref, 3)


def test_results_larger_than_a_chunk_cross_in_full_chunks_and_in_small_ones(data, tmp_path):
    """One shard of 20k items: its graph (about 2 MB) and so a full 1 MiB chunk must pass the
    coordinator's receive cap, from a worker with the default chunk size and from one sending 64 KiB
    chunks; both give the bytes of a local build."""
    d, _ = data
    meta, _ = build(d / "x.npy", tmp_path / "local.bin", "--workers", 1, "--shards", 1)
    assert meta["cluster"]["jobs_run"] == 1
    for kib in (1024, 64):
        url = f"tcp://127.0.0.1:{free_port()}"
        coord = Coordinator(tmp_path, d / "x.npy", tmp_path / f"k{kib}.bin", url, "--shards", 1)
        w = worker(url, "--chunk-kib", kib, name=f"chunks-{kib}")
        coord.result()
        assert w.wait(timeout=30) == 0, w.stderr.read()
        size = int(re.search(r"shard done .*bytes=(\d+)", coord.text()).group(1))
        assert size > CHUNK_BYTES, f"the shard's graph ({size} bytes) must take more than one chunk"
        assert "disconnected" not in coord.text() and "message rejected" not in coord.text(), coord.text()
        assert (tmp_path / f"k{kib}.bin").read_bytes() == (tmp_path / "local.bin").read_bytes()


def status_kib(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def sp_connect(port):
    """A raw TCP connection that speaks nng's SP handshake as a REQ peer (protocol 0x30)."""
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(b"\x00SP\x00\x00\x30\x00\x00")
    got = b""
    while len(got) < 8:
        part = c.recv(8 - len(got))
        assert part, "the coordinator closed the connection during the SP handshake"
        got += part
    assert got[:4] == b"\x00SP\x00" and got[4:6] == b"\x00\x31", got
    return c


def stranger(port, declared, send, stats):
    """Declares one SP message of `declared` bytes and sends up to `send` of them; counts what got through."""
    try:
        c = sp_connect(port)
    except OSError:
        stats["refused_connect"] += 1
        return
    sent = 0
    try:
        c.sendall((declared + 4).to_bytes(8, "big") + (0x80000001).to_bytes(4, "big"))
        block = bytes(1 << 20)
        while sent < send:
            c.sendall(block[:min(len(block), send - sent)])
            sent += min(len(block), send - sent)
        c.settimeout(5)
        c.recv(1)  # nothing comes back: the coordinator drops the connection
    except OSError:
        pass
    finally:
        stats["bytes"] += sent
        c.close()


class RawWorker:
    """An authenticated worker over a raw SP connection, so it can send requests without waiting
    for replies (what nng's REQ socket never does)."""

    def __init__(self, port, name):
        import hashlib, hmac
        self.c = sp_connect(port)
        self.next_id = 0x80000001
        t, nonce = self.exchange(1, len(name).to_bytes(2, "little") + name.encode())
        assert t == 2
        mac = hmac.new(TOKEN.encode(), b"worker" + nonce, hashlib.sha256).digest()
        t, _ = self.exchange(3, mac + os.urandom(32))
        assert t == 4

    def send(self, t, payload):
        body = self.next_id.to_bytes(4, "big") + frame(t, payload)
        self.next_id += 1
        self.c.sendall(len(body).to_bytes(8, "big") + body)

    def read(self):
        def exactly(n):
            got = b""
            while len(got) < n:
                part = self.c.recv(n - len(got))
                if not part:
                    raise ConnectionError("closed")
                got += part
            return got
        n = int.from_bytes(exactly(8), "big")
        msg = exactly(n)[4:]
        return int.from_bytes(msg[6:8], "little"), msg[16:]

    def exchange(self, t, payload):
        self.send(t, payload)
        return self.read()


def test_chunks_sent_without_waiting_are_handled_one_at_a_time(data, tmp_path):
    """A worker that sends the same result's chunks back to back without waiting for replies: nng
    hands them to different contexts at once, and each must still be written in order or refused
    as out of order (never two writes into one file at once); then an honest worker builds the
    same bytes."""
    d, ref = data
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    coord = Coordinator(tmp_path, d / "x.npy", tmp_path / "p.bin", url, "--shards", 4)
    coord.wait_for("coordinator listening")
    w = RawWorker(port, "pipeliner")
    t, job = w.exchange(6, b"")
    assert t == 7
    shard, attempt = job[0:4], job[4:8]
    blob = os.urandom(64 << 10)
    w.c.settimeout(10)
    for k in range(8):  # the same first chunk eight times, and the next one, all at once
        w.send(17, chunk(shard, attempt, blob, 0, count=4096))
    w.send(17, chunk(shard, attempt, blob, 4096, count=4096))
    replies = []
    try:
        while True:
            replies.append(w.read())
    except (ConnectionError, OSError):
        pass
    w.c.close()
    coord.wait_for("out-of-order RESULT_CHUNK for shard")
    assert all(t == 18 for t, _ in replies), replies
    assert coord.proc.poll() is None
    honest = worker(url, name="honest")
    meta = coord.result()
    assert honest.wait(timeout=30) == 0
    assert (tmp_path / "p.bin").read_bytes() == ref
    assert meta["cluster"]["jobs_per_worker"]["honest"] == 8


def test_fifty_strangers_sending_oversized_messages_cannot_grow_the_coordinator(data, tmp_path):
    """50 unauthenticated raw connections each declare a 64 MiB message and send it, then 50 send
    framed messages just under the coordinator's receive cap, three times over. The coordinator's
    resident memory (sampled from /proc every 5 ms) must stay within (50 connections + 4 contexts) ×
    the receive cap + 32 MiB over its resident size before the attack: nng holds at most one message
    per connection, each of the coordinator's 4 contexts one copy of the message it decodes, and a
    header that declares more than the cap closes its connection before anything is allocated,
    whatever --max-message-mib (here the default, 1 GiB). Then a real worker builds the same bytes."""
    import threading
    from collections import Counter
    d, ref = data
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    coord = Coordinator(tmp_path, d / "x.npy", tmp_path / "s.bin", url, "--shards", 4)
    coord.wait_for("coordinator listening")
    pid = coord.proc.pid
    time.sleep(0.5)
    before = status_kib(pid, "VmRSS")
    peak = [before]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], status_kib(pid, "VmRSS"))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    stats = Counter()
    try:
        declared = 64 << 20
        threads = [threading.Thread(target=stranger, args=(port, declared, declared, stats)) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        oversized_peak = peak[0]
        near_cap = frame(1, bytes(RECEIVE_CAP - 4 - 16))  # a HELLO of the largest size nng lets through (4: the request id)
        for _ in range(3):
            threads = [threading.Thread(target=stranger_framed, args=(port, near_cap, stats)) for _ in range(50)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
    finally:
        stop.set()
        sampler.join()
    growth_mib = (peak[0] - before) / 1024
    bound_mib = (50 + 4) * RECEIVE_CAP / 2**20 + 32
    print(f"coordinator VmRSS before {before / 1024:.1f} MiB, peak {peak[0] / 1024:.1f} MiB "
          f"(oversized phase peak {oversized_peak / 1024:.1f} MiB), growth {growth_mib:.1f} MiB, bound {bound_mib:.1f} MiB, "
          f"VmHWM {status_kib(pid, 'VmHWM') / 1024:.1f} MiB, bytes the strangers got through {stats['bytes'] / 2**20:.0f} MiB")
    assert coord.proc.poll() is None, "the coordinator must keep going"
    if growth_mib > bound_mib:
        coord.proc.kill()  # it would wait for workers forever
    assert growth_mib <= bound_mib, f"the coordinator grew by {growth_mib:.1f} MiB under 50 strangers (bound {bound_mib:.1f} MiB)"
    good = worker(url, name="good")
    meta = coord.result()
    assert good.wait(timeout=30) == 0
    assert (tmp_path / "s.bin").read_bytes() == ref
    assert "exceeds its cap" in coord.text(), "the near-cap HELLOs reached the decoder and were refused by name"
    assert meta["cluster"]["jobs_per_worker"] == {"good": 8}


def stranger_framed(port, message, stats):
    """Sends one whole SP message (a request id and `message`) and waits for the connection to close."""
    try:
        c = sp_connect(port)
    except OSError:
        stats["refused_connect"] += 1
        return
    try:
        c.sendall((len(message) + 4).to_bytes(8, "big") + (0x80000001).to_bytes(4, "big") + message)
        stats["bytes"] += len(message)
        c.settimeout(10)
        c.recv(1)
    except OSError:
        pass
    finally:
        c.close()


def test_merged_recall_at_the_default_M_on_unclustered_data(tmp_path):
    """At the product's M = 32 on random normal vectors (no cluster structure, the hard case for a
    merge), hnswlib serving the merged file at ef 100 stays within 1 point of recall@10 of a
    single-process build, at 4 and at 8 shards."""
    import hnswlib
    rng = np.random.default_rng(15)
    x = rng.standard_normal((50000, 32), dtype=np.float32)
    q = rng.standard_normal((1000, 32), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    truth = exact_topk(x, q, 10, "cosine")
    found = {}
    for s in (1, 4, 8):
        extra = ["--workers", 2, "--shards", s] if s > 1 else []
        trainer("build-index", "--vectors", tmp_path / "x.npy", "--out", tmp_path / f"s{s}.bin", "--threads", 2, *extra)
        index = hnswlib.Index(space="cosine", dim=32)
        index.load_index(str(tmp_path / f"s{s}.bin"))
        index.set_ef(100)
        found[s] = recall(index.knn_query(q, k=10)[0], truth)
    assert found[4] >= found[1] - 0.01 and found[8] >= found[1] - 0.01, found


def test_a_worker_holds_only_the_shards_of_its_last_refinement(slow, tmp_path):
    """One worker builds all 8 shards, then refines each: it keeps the shard it refines and the
    shards that one borders, not the whole index, and the bytes are those of two workers."""
    d, ref = slow
    url = f"tcp://127.0.0.1:{free_port()}"
    coord = Coordinator(tmp_path, d / "x.npy", tmp_path / "t.bin", url, "--shards", 8, "--threads", 2)
    w = worker(url, name="alone")
    coord.result()
    assert w.wait(timeout=30) == 0
    log = w.stderr.read()
    assert (tmp_path / "t.bin").read_bytes() == ref
    held = {}
    for line in log.splitlines():
        if "shard graphs held" in line:
            fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
            held[int(fields["refined"])] = {int(s) for s in fields["shards"].split(",")}
    assert sorted(held) == list(range(8)), log
    assert all(s in shards for s, shards in held.items())
    # Before, a worker kept every shard it had built or received (all 8 here, from the first
    # refinement on); now each refinement leaves only its own shards.
    assert len({frozenset(v) for v in held.values()}) > 1 and min(len(v) for v in held.values()) < 8, held
