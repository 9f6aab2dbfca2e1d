#!/usr/bin/env python
"""`emolens serve` latency: one 3-s clip, end to end over HTTP on this machine.

    python benchmarks/serve.py [--model BUNDLE] [-n 30] [--docs docs/benchmarks.md]

Starts the real application (uvicorn, warmed up as ``emolens serve`` does) on a loopback
port in this process, then times POST /api/predict with a 3-s 16-bit WAV from the client's
send to the parsed JSON answer: multipart upload, content sniffing, decoding, eGeMAPS,
the model, and (``?explain=true``, what the page asks for) DeepLIFT over the 27 feature groups
plus the waveform envelope. A 12-s clip adds the timeline of 3-s windows. Torch and
openSMILE run with their default threads, as ``emolens serve`` does.

Prints a markdown section; ``--docs FILE`` writes it as the ``## Serve`` section of FILE
(replacing an existing one, leaving every other section alone).
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import statistics
import threading
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]

from _common import harmonic, write_section  # noqa: E402


def wav(seconds: float) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, harmonic(seconds), 16_000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def start(model):
    import uvicorn

    from emolens.deploy.predict import Predictor
    from emolens.deploy.serve.app import create_app

    t0 = time.perf_counter()
    app = create_app(Predictor(model), warm_up=True)
    ready = time.perf_counter() - t0
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread, ready


def timed(client, url, data, n, explain):
    times = []
    for i in range(n + 2):
        t0 = time.perf_counter()
        r = client.post(f"{url}/api/predict", params={"explain": str(explain).lower()},
                        files=[("files", ("clip.wav", data, "audio/wav"))])
        body = r.json()
        dt = 1000 * (time.perf_counter() - t0)
        assert r.status_code == 200 and len(body["predictions"]) == 1, r.text[:300]
        if i >= 2:
            times.append(dt)
    times.sort()
    return {"median": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))]}


def main(argv=None):
    import httpx

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="bundle (default: the built-in model)")
    p.add_argument("-n", type=int, default=30, help="timed requests per case")
    p.add_argument("--docs", type=Path, default=None)
    args = p.parse_args(argv)
    load = os.getloadavg()[0]
    url, server, thread, ready = start(args.model)
    try:
        with httpx.Client(timeout=60) as client:
            three = wav(3.0)
            plain = timed(client, url, three, args.n, False)
            explain = timed(client, url, three, args.n, True)
            long = timed(client, url, wav(12.0), max(5, args.n // 3), True)
    finally:
        server.should_exit = True
        thread.join(10)
    model = args.model or "default model"
    section = "\n".join([
        "## Serve",
        "",
        f"`python benchmarks/serve.py` on {os.cpu_count()} cores, {model}, {time.strftime('%Y-%m-%d')}; "
        f"1-min load average {load:.1f} at the start (the machine is shared: a load above the "
        "core count inflates the times). Real HTTP on a loopback port, from the client's send "
        f"to the parsed JSON answer, {args.n} requests after 2 warm-up requests.",
        "",
        "| request | median | p95 | target |",
        "|---|---|---|---|",
        f"| POST /api/predict, one 3-s WAV (the rows of `emolens predict`) | {plain['median']:.0f} ms | {plain['p95']:.0f} ms | ≤ 300 ms |",
        f"| the same with `?explain=true` (what the page asks: + DeepLIFT by group, waveform) | {explain['median']:.0f} ms | {explain['p95']:.0f} ms | ≤ 300 ms |",
        f"| one 12-s WAV with `?explain=true` (+ timeline, 10 windows of 3 s) | {long['median']:.0f} ms | {long['p95']:.0f} ms | |",
        "",
        f"Start-up (model load + warm-up prediction, in-process after imports): {ready:.1f} s.",
        "",
    ])
    print(section)
    if args.docs:
        write_section(args.docs, "Serve", section)


if __name__ == "__main__":
    main()
