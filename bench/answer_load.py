#!/usr/bin/env python3
"""Open-loop load of exam answer saves against a running `credo serve` (standard library only).

N candidates sign in and start an attempt at one exam; then, for each target rate, every candidate saves
answers on its own keep-alive connection on a fixed schedule (rate / N saves per second each, one request at a
time, like a person clicking). Latency is measured from the *scheduled* send time, so a server that falls behind
shows up in the percentiles instead of silently slowing the load down (no coordinated omission).

    answer_load.py --base http://127.0.0.1:8080 --exam git/git-fundamentals \
        --emails bench-0@bench.test,... --password ... --rates 100,400 --seconds 10

Prints one line per rate: target, achieved saves/s, p50/p90/p99/max latency, errors.
"""

import argparse
import asyncio
import json
import random
import time
from urllib.parse import urlsplit


class Connection:
    """One HTTP/1.1 keep-alive connection."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, method, path, token=None, body=None):
        if self.writer is None:
            await self.open()
        data = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(data)}"]
        if body is not None:
            head.append("Content-Type: application/json")
        if token:
            head.append(f"Authorization: Bearer {token}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("connection closed")
        status = int(status_line.split()[1])
        length, chunked, close = 0, False, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                close = True
        if chunked:
            payload = b""
            while True:
                size = int((await self.reader.readline()).strip() or b"0", 16)
                if size == 0:
                    await self.reader.readline()
                    break
                payload += await self.reader.readexactly(size)
                await self.reader.readline()
        else:
            payload = await self.reader.readexactly(length) if length else b""
        if close:
            self.writer.close()
            self.writer = None
        return status, payload

    def close(self):
        if self.writer is not None:
            self.writer.close()


async def prepare(base, exam, emails, password, parallel):
    """Signs every candidate in and starts their attempt: [(token, attempt id, [(question, [choices])])]."""
    url = urlsplit(base)
    semaphore = asyncio.Semaphore(parallel)

    async def one(email):
        async with semaphore:
            conn = Connection(url.hostname, url.port)
            status, body = await conn.request("POST", "/api/v1/auth/login", body={"email": email, "password": password})
            if status != 200:
                raise SystemExit(f"login {email}: {status} {body[:200]!r}")
            token = json.loads(body)["token"]
            status, body = await conn.request("POST", f"/api/v1/exams/{exam}/attempts", token=token, body={})
            if status != 201:
                raise SystemExit(f"start {email}: {status} {body[:200]!r}")
            started = json.loads(body)
            conn.close()
            questions = [(q["id"], [c["id"] for c in q["choices"]]) for q in started["questions"]]
            return token, started["id"], questions

    return await asyncio.gather(*(one(e) for e in emails))


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[index]


async def run_rate(base, candidates, rate, seconds):
    url = urlsplit(base)
    n = len(candidates)
    interval = n / rate
    per_candidate = max(1, int(seconds * rate / n))
    latencies, errors = [], {}
    start = time.perf_counter() + 0.5

    async def candidate(index, token, attempt, questions):
        conn = Connection(url.hostname, url.port)
        await conn.open()
        rng = random.Random(index)
        offset = interval * index / n
        for k in range(per_candidate):
            scheduled = start + offset + k * interval
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            question, choices = questions[(index + k) % len(questions)]
            try:
                status, _ = await conn.request(
                    "PUT",
                    f"/api/v1/attempts/{attempt}/answers/{question}",
                    token=token,
                    body={"choices": [rng.choice(choices)]},
                )
            except (ConnectionError, OSError, asyncio.IncompleteReadError) as e:
                status = type(e).__name__
                conn = Connection(url.hostname, url.port)
            done = time.perf_counter()
            if status == 204:
                latencies.append(done - scheduled)
            else:
                errors[status] = errors.get(status, 0) + 1
        conn.close()

    await asyncio.gather(*(candidate(i, *c) for i, c in enumerate(candidates)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    ms = lambda p: percentile(latencies, p) * 1000  # noqa: E731
    return {
        "target": rate,
        "saves_per_s": len(latencies) / elapsed,
        "p50_ms": ms(50),
        "p90_ms": ms(90),
        "p99_ms": ms(99),
        "max_ms": (latencies[-1] * 1000) if latencies else float("nan"),
        "ok": len(latencies),
        "errors": errors,
    }


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--exam", required=True, help="vendor/exam")
    parser.add_argument("--emails", required=True, help="comma-separated candidate addresses")
    parser.add_argument("--password", required=True)
    parser.add_argument("--rates", default="100,400")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    emails = [e for e in args.emails.split(",") if e]
    candidates = await prepare(args.base, args.exam, emails, args.password, parallel=8)
    for rate in [int(r) for r in args.rates.split(",")]:
        r = await run_rate(args.base, candidates, rate, args.seconds)
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(r["errors"].items(), key=str)) or "none"
        print(
            f"{args.label:<10} {len(candidates):>4} candidates  target {r['target']:>5}/s  "
            f"achieved {r['saves_per_s']:7.1f} saves/s  p50 {r['p50_ms']:7.1f} ms  p90 {r['p90_ms']:7.1f} ms  "
            f"p99 {r['p99_ms']:7.1f} ms  max {r['max_ms']:7.1f} ms  errors: {errors}",
            flush=True,
        )


if __name__ == "__main__":
    asyncio.run(main())
