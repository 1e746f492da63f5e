#!/usr/bin/env python3
"""Soak test of stackrec-blend over TCP on loopback.

Starts the blender on an ephemeral port of 127.0.0.1 and opens many connections that
pipeline a mix of SCORE, SCORES, RECOMMEND, EXPLAIN, PING and malformed lines. A RELOAD goes
out on a new connection at a fixed interval. Every reply must equal the reply that a separate
`stackrec-blend --stdin` process gave for the same line before the soak started. The script
samples the server's resident memory from /proc/PID/status and prints its figures at the end.

Exit status: 0 when every reply matched, every reload succeeded, the server stayed up and
exited 0 on SIGTERM; 1 otherwise; 2 for bad arguments.

    python3 Benchmarks/soak.py --blend .build/release/stackrec-blend \\
        --store artifacts/feature-store.sqlite --duration 120 --connections 500

Python 3.9 or later, standard library only.
"""

import argparse
import asyncio
import os
import platform
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blend", required=True, help="the stackrec-blend executable")
    parser.add_argument("--store", required=True, help="the feature store to serve")
    parser.add_argument("--duration", type=float, default=120, help="seconds of load (default 120)")
    parser.add_argument("--connections", type=int, default=500, help="concurrent connections (default 500)")
    parser.add_argument("--pipeline", type=int, default=16, help="requests in flight per connection (default 16)")
    parser.add_argument("--reload-every", type=float, default=10, help="seconds between RELOADs (default 10)")
    parser.add_argument("--pool", type=int, default=5000, help="distinct request lines (default 5000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the request mix (default 1)")
    return parser.parse_args()


def raise_file_limit(needed):
    """Raises the soft limit on open files to the hard limit; the blender inherits it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < needed:
        sys.exit(f"error: the open file limit is {soft}, below the {needed} this run needs; raise ulimit -n")
    return soft


def store_ids(path):
    """Returns the user and item ids of a feature store, read through SQLite read-only."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as database:
        users = [row[0] for row in database.execute("SELECT user_id FROM users ORDER BY user_index")]
        items = [row[0] for row in database.execute("SELECT item_id FROM items ORDER BY item_index")]
    return users, items


def make_pool(users, items, size, generator):
    """Builds `size` distinct request lines (bytes, without LF): mostly valid requests over
    known and unknown ids, and about one in ten malformed."""
    unknown_user = max(users) + 1
    unknown_item = max(items) + 1

    def user():
        return unknown_user if generator.random() < 0.05 else generator.choice(users)

    def item():
        return unknown_item if generator.random() < 0.05 else generator.choice(items)

    malformed = [
        b"FOO 1 2", b"SCORE x 1", b"SCORE 1", b"SCORES 1", b"RECOMMEND 1 0", b"RECOMMEND",
        b"EXPLAIN 1 2 3", b"SCORE 1 99999999999", b"SCORE -1 1", b"PING extra",
        b"SCORE \xff\xfe 1", b"S\x00CORE 1 2", b"x" * 9000,
    ]
    pool = set()
    while len(pool) < size:
        kind = generator.random()
        if kind < 0.35:
            pair = (user(), item())
            line = "SCORE {} {}".format(*pair)
            # The same pair in a SCORES and an EXPLAIN, for check_consistency.
            if generator.random() < 0.3:
                others = " ".join(str(item()) for _ in range(generator.randint(0, 5)))
                pool.add("SCORES {} {} {}".format(*pair, others).strip().encode())
                pool.add("EXPLAIN {} {}".format(*pair).encode())
        elif kind < 0.55:
            line = "SCORES {} {}".format(user(), " ".join(str(item()) for _ in range(generator.randint(1, 20))))
        elif kind < 0.70:
            line = f"RECOMMEND {user()} {generator.randint(1, 50)}"
        elif kind < 0.85:
            line = f"EXPLAIN {user()} {item()}"
        elif kind < 0.90:
            line = "PING"
        else:
            pool.add(generator.choice(malformed))
            continue
        pool.add(line.encode())
    return sorted(pool)


def expected_replies(blend, store, pool):
    """Returns the reply of `stackrec-blend --stdin` to every pool line, by line."""
    with tempfile.TemporaryFile() as requests:
        requests.write(b"".join(line + b"\n" for line in pool))
        requests.seek(0)
        result = subprocess.run(
            [blend, "--store", store, "--stdin", "--quiet"], stdin=requests,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if result.returncode != 0:
        sys.exit(f"error: stackrec-blend --stdin failed: {result.stderr.decode(errors='replace')}")
    replies = result.stdout.split(b"\n")[:-1]
    if len(replies) != len(pool):
        sys.exit(f"error: stackrec-blend --stdin gave {len(replies)} replies to {len(pool)} requests")
    return dict(zip(pool, replies))


def check_consistency(expected):
    """Checks that the reference replies agree with each other: a SCORE equals the first value
    of every SCORES for the same pair and the score of every EXPLAIN for it.

    Returns the number of pairs checked; exits on a disagreement."""
    score = {}
    for line, reply in expected.items():
        words = line.split()
        if len(words) == 3 and words[0] == b"SCORE" and not reply.startswith(b"ERR"):
            value, _, fallback = reply.partition(b" fallback=")
            score[(words[1], words[2])] = (value, fallback)
    checked = 0
    for line, reply in expected.items():
        words = line.split()
        if reply.startswith(b"ERR") or len(words) < 3 or (words[1], words[2]) not in score:
            continue
        value, fallback = score[(words[1], words[2])]
        if words[0] == b"SCORES":
            first, _, reason = reply.split(b" ")[0].partition(b"/")
            agrees = first == value and reason == fallback
        elif words[0] == b"EXPLAIN":
            fields = dict(field.split(b"=", 1) for field in reply.split(b" "))
            agrees = fields[b"score"] == value and fields[b"fallback"] == (fallback or b"none")
        else:
            continue
        if not agrees:
            sys.exit(f"error: {line!r} gave {reply!r}, but SCORE gave {value!r} {fallback!r}")
        checked += 1
    return checked


def resident_kilobytes(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


class Figures:
    def __init__(self):
        self.requests = 0
        self.wrong = 0
        self.wrong_examples = []
        self.connection_failures = 0
        self.reloads = 0
        self.failed_reloads = 0
        self.rss = []


async def client(port, pool, expected, deadline, pipeline, generator, figures):
    """Sends batches of `pipeline` requests on one connection and checks every reply."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    except OSError as error:
        figures.connection_failures += 1
        figures.wrong_examples.append(f"connect: {error}")
        return
    try:
        while time.monotonic() < deadline:
            batch = [generator.choice(pool) for _ in range(pipeline)]
            writer.write(b"".join(line + b"\n" for line in batch))
            await writer.drain()
            for line in batch:
                reply = (await reader.readline()).rstrip(b"\n")
                figures.requests += 1
                if reply != expected[line]:
                    figures.wrong += 1
                    if len(figures.wrong_examples) < 5:
                        figures.wrong_examples.append(f"{line[:80]!r} got {reply[:120]!r}, expected {expected[line][:120]!r}")
    except (OSError, asyncio.IncompleteReadError) as error:
        figures.connection_failures += 1
        figures.wrong_examples.append(f"connection: {error!r}")
    finally:
        writer.close()


async def reloader(port, deadline, interval, figures):
    """Sends RELOAD on a fresh connection every `interval` seconds."""
    while time.monotonic() + interval < deadline:
        await asyncio.sleep(interval)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"RELOAD\n")
            await writer.drain()
            reply = await asyncio.wait_for(reader.readline(), timeout=30)
            writer.close()
        except (OSError, asyncio.TimeoutError) as error:
            reply = f"{error!r}".encode()
        if reply.startswith(b"OK reloaded "):
            figures.reloads += 1
        else:
            figures.failed_reloads += 1
            figures.wrong_examples.append(f"RELOAD got {reply[:120]!r}")


async def sampler(pid, deadline, figures):
    """Samples the server's resident memory every second."""
    while time.monotonic() < deadline:
        figures.rss.append((time.monotonic(), resident_kilobytes(pid)))
        await asyncio.sleep(1)


async def soak(arguments, port, pid, pool, expected, figures):
    deadline = time.monotonic() + arguments.duration
    generator = random.Random(arguments.seed)
    tasks = [
        client(port, pool, expected, deadline, arguments.pipeline,
               random.Random(generator.getrandbits(64)), figures)
        for _ in range(arguments.connections)
    ]
    tasks.append(reloader(port, deadline, arguments.reload_every, figures))
    tasks.append(sampler(pid, deadline, figures))
    await asyncio.gather(*tasks)


async def info(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"INFO\n")
    await writer.drain()
    reply = await reader.readline()
    writer.close()
    return reply.decode().strip()


def start_server(blend, store, log):
    """Starts the blender on 127.0.0.1:0 and returns the process and the port it chose."""
    server = subprocess.Popen(
        [blend, "--store", store, "--listen", "127.0.0.1:0"], stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=log)
    start = time.monotonic()
    while time.monotonic() - start < 60:
        with open(log.name, "rb") as text:
            for line in text:
                if b"listening address=127.0.0.1:" in line:
                    port = line.split(b"listening address=127.0.0.1:")[1].split()[0]
                    return server, int(port)
        if server.poll() is not None:
            break
        time.sleep(0.05)
    server.kill()
    sys.exit("error: stackrec-blend did not start listening; see " + log.name)


def main():
    arguments = parse_arguments()
    if arguments.connections < 1 or arguments.pipeline < 1 or arguments.duration <= 0:
        print("error: --connections, --pipeline and --duration must be positive", file=sys.stderr)
        return 2
    file_limit = raise_file_limit(arguments.connections + 64)

    generator = random.Random(arguments.seed)
    users, items = store_ids(arguments.store)
    pool = make_pool(users, items, arguments.pool, generator)
    expected = expected_replies(arguments.blend, arguments.store, pool)
    consistent_pairs = check_consistency(expected)

    log = tempfile.NamedTemporaryFile(prefix="soak-blend-", suffix=".log", delete=False)
    server, port = start_server(arguments.blend, arguments.store, log)
    load_before = os.getloadavg()
    rss_start = resident_kilobytes(server.pid)
    figures = Figures()
    started = time.monotonic()
    asyncio.run(soak(arguments, port, server.pid, pool, expected, figures))
    elapsed = time.monotonic() - started
    load_after = os.getloadavg()
    alive = server.poll() is None
    rss_end = resident_kilobytes(server.pid) if alive else None
    counters = asyncio.run(info(port)) if alive else "server not running"
    server.send_signal(signal.SIGTERM)
    try:
        status = server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        status = "no exit within 30 s"

    # Resident memory after the first tenth of the run, when every connection is open.
    warm = [kilobytes for moment, kilobytes in figures.rss if moment - started >= arguments.duration / 10]
    rss_values = [kilobytes for _, kilobytes in figures.rss if kilobytes] + [rss_start, rss_end]
    rss_values = [kilobytes for kilobytes in rss_values if kilobytes]
    step = max(1, len(figures.rss) // 12)
    timeline = ", ".join(f"{moment - started:.0f}s {kilobytes}" for moment, kilobytes in figures.rss[::step])
    print(f"date                 {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}")
    print(f"machine              {platform.node()} {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"command              {' '.join(sys.argv)}")
    print(f"store                {arguments.store}: {len(users)} users, {len(items)} items")
    print(f"request pool         {len(pool)} lines; {consistent_pairs} SCORES/EXPLAIN replies agree with SCORE")
    print(f"open file limit      {file_limit}")
    print(f"load average         {load_before[0]:.2f} before, {load_after[0]:.2f} after (1 min)")
    print(f"duration             {elapsed:.1f} s")
    print(f"connections          {arguments.connections}, {arguments.pipeline} requests in flight each")
    print(f"requests             {figures.requests} ({figures.requests / elapsed:.0f}/s)")
    print(f"wrong replies        {figures.wrong}")
    print(f"connection failures  {figures.connection_failures}")
    print(f"reloads              {figures.reloads} ok, {figures.failed_reloads} failed")
    print(f"resident memory      start {rss_start} KiB, after warm-up {warm[0] if warm else None} KiB, "
          f"end {rss_end} KiB, max {max(rss_values) if rss_values else None} KiB")
    print(f"resident memory (KiB) {timeline}")
    print(f"server               {'running' if alive else 'DIED'} until SIGTERM, exit status {status}")
    print(f"server counters      {counters}")
    print(f"server log           {log.name}")
    for example in figures.wrong_examples[:5]:
        print(f"problem              {example}")

    ok = (alive and status == 0 and figures.wrong == 0 and figures.connection_failures == 0
          and figures.failed_reloads == 0 and figures.requests > 0)
    print("result               " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
