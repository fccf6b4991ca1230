#!/usr/bin/env python3
"""The file-transfer benchmark (issue 5, item 6); scripts/bench-transfer.sh
builds the binaries and runs this. In one run on loopback:

  confab      a tracker and two real nodes (`confab up`); the receiver
              auto-accepts; `confab send` without --detach returns once the
              file is fsynced in quarantine, its BLAKE3 digest matched and
              it was released to the download directory
  scp         OpenSSH scp of the same file to a throwaway sshd on a loopback
              port (a fresh host key and client key), with
              chacha20-poly1305@openssh.com and aes128-gcm@openssh.com; the
              copy is then fsynced (inside the timing, as confab's is)
  iperf3      TCP over loopback, the network's limit

Each row: MB/s (10^6 bytes/s), CPU seconds per GB (10^9 bytes) on the sending
and the receiving side (user+system of the processes involved), and peak RSS
on each side (confab: the node's RSS growth during the transfer too).
"""
import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from harness import NodeProcess, TrackerProcess, confab_join, wait_until  # noqa: E402

MIB = 1 << 20
TICK = os.sysconf("SC_CLK_TCK")


def make_file(path, size):
    block = hashlib.shake_256(b"confab-bench").digest(MIB)
    with open(path, "wb") as f:
        for i in range(0, size, MIB):
            chunk = (i // MIB).to_bytes(8, "little") + block[8:]
            f.write(chunk[:min(MIB, size - i)])


def cpu_seconds(pid, children=False):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is state (field 3): utime is field 14, stime 15, cutime 16, cstime 17.
    own = int(fields[11]) + int(fields[12])
    kids = int(fields[13]) + int(fields[14]) if children else 0
    return (own + kids) / TICK


def status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(pid):
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                for child in f.read().split():
                    out.append(int(child))
                    out.extend(descendants(int(child)))
    except OSError:
        pass
    return out


class PeakSampler:
    """Samples VmRSS of a process tree every 50 ms; .peak_kib is the largest sum."""

    def __init__(self, root_pids):
        self.roots = root_pids
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            total = 0
            for root in self.roots:
                for pid in [root, *descendants(root)]:
                    total += status_kib(pid, "VmRSS")
            self.peak_kib = max(self.peak_kib, total)
            time.sleep(0.05)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.peak_kib


def blake3_file(path):
    return subprocess.run(["b3sum", "--no-names", path], capture_output=True, text=True,
                          check=True).stdout.strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def row(name, size, seconds, send_cpu, recv_cpu, send_rss, recv_rss, note=""):
    gb = size / 1e9
    return {"name": name, "mb_s": size / 1e6 / seconds, "seconds": seconds,
            "send_cpu_per_gb": send_cpu / gb if send_cpu is not None else None,
            "recv_cpu_per_gb": recv_cpu / gb if recv_cpu is not None else None,
            "send_rss_mib": send_rss, "recv_rss_mib": recv_rss, "note": note}


# ---- confab ----------------------------------------------------------------

def bench_confab(work, src, size):
    os.makedirs(work, exist_ok=True)
    tracker = TrackerProcess(os.path.join(work, "state"))
    tracker.init()
    tracker.start()
    nodes = []
    try:
        homes = {}
        for name in ("alice", "bob"):
            home = os.path.join(work, name)
            r = confab_join(home, tracker.invite(name))
            if r.returncode != 0:
                raise RuntimeError(r.stderr)
            homes[name] = home
        downloads = os.path.join(work, "downloads")
        with open(os.path.join(homes["bob"], "config.toml"), "w") as f:
            f.write(f'[transfers]\nauto_accept_from = ["alice"]\n'
                    f'auto_accept_max_size = {size}\ndownload_dir = "{downloads}"\n')
        alice, bob = NodeProcess(homes["alice"], "alice"), NodeProcess(homes["bob"], "bob")
        nodes = [alice, bob]
        for n in nodes:
            n.start()
        # Warm up: a session and a first small transfer.
        warm = os.path.join(work, "warm.bin")
        make_file(warm, MIB)
        r = alice.cli("send", "bob", warm, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(r.stdout + r.stderr + alice.log() + bob.log())
        rss0 = {n.name: status_kib(n.proc.pid, "VmRSS") for n in nodes}
        cpu0 = {n.name: cpu_seconds(n.proc.pid) for n in nodes}
        sampler = {n.name: PeakSampler([n.proc.pid]) for n in nodes}
        start = time.monotonic()
        r = alice.cli("send", "bob", src, timeout=3600)
        seconds = time.monotonic() - start
        peak = {name: s.stop() for name, s in sampler.items()}
        cpu = {n.name: cpu_seconds(n.proc.pid) - cpu0[n.name] for n in nodes}
        if r.returncode != 0:
            raise RuntimeError(f"confab send failed: {r.stdout}{r.stderr}")
        tid = r.stdout.splitlines()[0]
        got = [t for t in bob.cli_json("transfers") if t["id"] == tid][0]
        digest = blake3_file(src)
        ok = got["state"] == "completed" and got["digest"] == digest and \
            blake3_file(got["path"]) == digest
        growth = {k: (peak[k] - rss0[k]) / 1024 for k in peak}
        note = (f"digest {'matches' if ok else 'MISMATCH'}; RSS growth "
                f"{growth['alice']:.0f}/{growth['bob']:.0f} MiB")
        os.unlink(got["path"])
        return row("confab (AESGCM, BLAKE3)", size, seconds, cpu["alice"], cpu["bob"],
                   peak["alice"] / 1024, peak["bob"] / 1024, note), ok
    finally:
        for n in nodes:
            n.stop()
        tracker.stop()


# ---- scp -------------------------------------------------------------------

class Sshd:
    def __init__(self, work):
        self.dir = os.path.join(work, "sshd")
        os.makedirs(self.dir)
        os.makedirs("/run/sshd", exist_ok=True)
        self.port = free_port()
        for key in ("host", "client"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                            os.path.join(self.dir, key)], check=True)
        shutil.copy(os.path.join(self.dir, "client.pub"), os.path.join(self.dir, "authorized"))
        config = os.path.join(self.dir, "sshd_config")
        with open(config, "w") as f:
            f.write(f"Port {self.port}\nListenAddress 127.0.0.1\n"
                    f"HostKey {self.dir}/host\nAuthorizedKeysFile {self.dir}/authorized\n"
                    f"PidFile {self.dir}/sshd.pid\nPasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
                    "PermitRootLogin prohibit-password\nCompression no\n"
                    "Ciphers chacha20-poly1305@openssh.com,aes128-gcm@openssh.com\n"
                    "Subsystem sftp /usr/lib/openssh/sftp-server\n")
        self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", config],
                                     stderr=open(os.path.join(self.dir, "log"), "w"))
        wait_until(lambda: self._listening(), 10, what="sshd")

    def _listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def scp(self, cipher, src, dst):
        return ["scp", "-q", "-c", cipher, "-i", os.path.join(self.dir, "client"), "-P",
                str(self.port), "-o", "StrictHostKeyChecking=no", "-o",
                "UserKnownHostsFile=/dev/null", "-o", "Compression=no", "-o", "BatchMode=yes",
                src, f"{os.environ.get('USER', 'root')}@127.0.0.1:{dst}"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def bench_scp(sshd, cipher, src, dst, size):
    server_cpu0 = cpu_seconds(sshd.proc.pid, children=True)
    start = time.monotonic()
    proc = subprocess.Popen(sshd.scp(cipher, src, dst))
    sampler_send = PeakSampler([proc.pid])
    sampler_recv = PeakSampler([sshd.proc.pid])
    _, status, usage = os.wait4(proc.pid, 0)
    fd = os.open(dst, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    seconds = time.monotonic() - start
    send_peak, recv_peak = sampler_send.stop(), sampler_recv.stop()
    if status != 0:
        raise RuntimeError(f"scp -c {cipher} failed")
    time.sleep(0.3)  # let sshd reap its session child (its CPU joins cutime/cstime)
    recv_cpu = cpu_seconds(sshd.proc.pid, children=True) - server_cpu0
    ok = os.path.getsize(dst) == size
    os.unlink(dst)
    return row(f"scp -c {cipher}", size, seconds, usage.ru_utime + usage.ru_stime, recv_cpu,
               send_peak / 1024, recv_peak / 1024,
               "size matches" if ok else "SIZE MISMATCH"), ok


def bench_iperf(seconds=5):
    port = free_port()
    server = subprocess.Popen(["iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    r = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(seconds), "-J"],
                       capture_output=True, text=True)
    server.wait(10)
    end = json.loads(r.stdout)["end"]
    mb_s = end["sum_received"]["bits_per_second"] / 8 / 1e6
    return {"name": "iperf3 TCP (loopback limit)", "mb_s": mb_s, "seconds": seconds,
            "send_cpu_per_gb": None, "recv_cpu_per_gb": None, "send_rss_mib": None,
            "recv_rss_mib": None,
            "note": f"CPU {end['cpu_utilization_percent']['host_total']:.0f}% / "
                    f"{end['cpu_utilization_percent']['remote_total']:.0f}%"}


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=2048)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    size = args.size_mib * MIB
    tmp = tempfile.TemporaryDirectory(prefix="confab-bench-", dir=args.dir)
    work = tmp.name
    src = os.path.join(work, "payload.bin")
    make_file(src, size)
    load = os.getloadavg()
    rows, ok = [], True
    sshd = Sshd(work)
    try:
        for run in range(args.runs):
            r, good = bench_confab(os.path.join(work, f"confab{run}"), src, size)
            rows.append(r)
            ok &= good
            for cipher in ("chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com"):
                r, good = bench_scp(sshd, cipher, src, os.path.join(work, "scp.out"), size)
                rows.append(r)
                ok &= good
    finally:
        sshd.stop()
    rows.append(bench_iperf())
    print(f"\n{size // MIB} MiB file, {args.runs} run(s), loopback, "
          f"{os.cpu_count()} CPUs, load average {load[0]:.1f} at the start\n")
    print("| transfer | MB/s | s | CPU s/GB send | CPU s/GB recv | peak RSS send | "
          "peak RSS recv | check |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['name']} | {r['mb_s']:.0f} | {r['seconds']:.2f} | "
              f"{fmt(r['send_cpu_per_gb'], '.2f')} | {fmt(r['recv_cpu_per_gb'], '.2f')} | "
              f"{fmt(r['send_rss_mib'], '.0f')} MiB | {fmt(r['recv_rss_mib'], '.0f')} MiB | "
              f"{r['note']} |".replace("| - MiB", "| -"))
    by = {}
    for r in rows:
        by.setdefault(r["name"].split(" (")[0] if r["name"].startswith("confab") else r["name"],
                      []).append(r["mb_s"])
    best = {k: max(v) for k, v in by.items()}
    c = best["confab"]
    chacha = best["scp -c chacha20-poly1305@openssh.com"]
    aes = best["scp -c aes128-gcm@openssh.com"]
    print(f"\nconfab / scp-chacha20: {c / chacha:.2f}x (target >= 2x); "
          f"confab / scp-aes128-gcm: {c / aes:.2f}x (target >= 1.2x)")
    tmp.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
