"""A class commits its predictions at once (issue 27): 300 students within 10 s, against the class polls' service.

    python benchmarks/predictions.py [--students 300] [--window 10] [--db SQLALCHEMY-URL]

The service runs as its own process (``python -m rnn_widgets.polls.service``; SQLite in a temporary folder unless
``--db`` names another database, e.g. ``postgresql+psycopg://...``), as in the gallery or on the hub. Every student
first joins the poll (a token each, as a page does), then commits one prediction to one question at a moment drawn
uniformly in the window (seeded), each from its own thread, as 300 kernels would; then all 300 commit again at the
same instant (the worst burst). Printed: how many answers were acknowledged and how many are stored (all of them,
or the run fails), the submit latency (median, p95, max), and the instructor's view refresh (the two requests its
page makes every 2 s: the polls, then the poll's summary) while the class commits and once all answers are in.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import html
import json
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def ms(values: list[float]) -> str:
    return (f"median {statistics.median(values) * 1e3:.1f} ms, p95 {p95(values) * 1e3:.1f} ms, "
            f"max {max(values) * 1e3:.1f} ms (n = {len(values)})")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(_NoRedirects)


def call(url: str, method: str = "GET", body=None, headers=None, timeout: float = 30):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with OPENER.open(request, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--window", type=float, default=10.0, help="seconds over which the class commits")
    parser.add_argument("--db", default=None, help="SQLAlchemy URL (default: SQLite in a temporary folder)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="rnn-polls-bench-")
    db = args.db or f"sqlite:///{folder}/polls.sqlite"
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    proc = subprocess.Popen([sys.executable, "-m", "rnn_widgets.polls.service", "--db", db, "--port", str(port),
                             "--per-client", str(100 * args.students)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        key = line.rsplit("?key=", 1)[1].strip()
        _, headers, _ = call(f"{base}?key={key}")
        cookie = headers["Set-Cookie"].split(";")[0]
        _, _, page = call(base, headers={"Cookie": cookie})
        xsrf = json.loads(html.unescape(re.search(r'data-config="([^"]*)"', page.decode()).group(1)))["xsrf"]
        instructor = {"Cookie": cookie, "X-XSRFToken": xsrf}
        _, _, body = call(f"{base}api/polls", "POST", {"title": "benchmark"}, instructor)
        code = json.loads(body)["code"]

        tokens = [json.loads(call(f"{base}api/join", "POST", {"poll": code})[2])["token"] for _ in range(args.students)]
        rng = random.Random(args.seed)

        def commit(token: str, value: float, at: float) -> tuple[int, float]:
            time.sleep(max(0.0, at - time.monotonic()))
            body = {"poll": code, "question_id": "05_gradient_flow/1", "entries": [value], "truths": [1.6],
                    "correct": [abs(value - 1.6) <= 0.1], "nonce": secrets.token_urlsafe(16)}
            t0 = time.perf_counter()
            status, _, _ = call(f"{base}api/answers", "POST", body, {"Authorization": f"Poll {token}"})
            return status, time.perf_counter() - t0

        def refresh() -> float:
            t0 = time.perf_counter()
            assert call(f"{base}api/polls", headers=instructor)[0] == 200
            assert call(f"{base}api/polls/{code}", headers=instructor)[0] == 200
            return time.perf_counter() - t0

        def run_class(moments: list[float]) -> tuple[list, list[float]]:
            """Every student commits at its moment (seconds from now); the view refreshes every 2 s meanwhile."""
            refreshes, done = [], threading.Event()

            def view():
                while not done.is_set():
                    refreshes.append(refresh())
                    done.wait(2.0)

            viewer = threading.Thread(target=view)
            start = time.monotonic() + 0.5
            with concurrent.futures.ThreadPoolExecutor(args.students) as pool:
                viewer.start()
                futures = [pool.submit(commit, token, round(rng.uniform(0.1, 2.0), 2), start + moment)
                           for token, moment in zip(tokens, moments)]
                results = [f.result() for f in futures]
            done.set()
            viewer.join()
            return results, refreshes

        spread, spread_views = run_class([rng.uniform(0, args.window) for _ in tokens])
        burst, burst_views = run_class([0.0] * len(tokens))
        settled = [refresh() for _ in range(20)]

        summary = json.loads(call(f"{base}api/polls/{code}", headers=instructor)[2])
        stored = summary["questions"][0]["answers"] if summary["questions"] else 0
        for name, results in (("spread", spread), ("burst", burst)):
            statuses = [s for s, _ in results]
            print(f"{name}: {statuses.count(200)} of {len(results)} commits acknowledged"
                  + (f"; refused: {sorted(set(statuses) - {200})}" if statuses.count(200) != len(results) else ""))
        print(f"stored: {stored} current answers for {args.students} students (each committed twice: the second "
              "replaced the first)")
        print(f"submit latency, {args.students} students within {args.window:g} s: {ms([t for _, t in spread])}")
        print(f"submit latency, {args.students} students at the same instant: {ms([t for _, t in burst])}")
        print(f"view refresh while the class commits: {ms(spread_views + burst_views)}")
        print(f"view refresh with {stored} answers in: {ms(settled)}")
        print(f"store: {db.split('://')[0]}; machine: {os.cpu_count()} cores, shared")
        if stored != args.students or any(s != 200 for s, _ in spread + burst):
            raise SystemExit("not every commit was acknowledged and stored")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
