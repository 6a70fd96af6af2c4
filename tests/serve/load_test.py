"""Load test of `remedi serve` (loopback only, bounded): CLIENTS concurrent clients send REQUESTS
requests each, mixing edits (16 different ones and unedited requests) and streaming, all greedy.
Every answer must be the one its request gets alone (no failure, no mixed-up response), a client
that disconnects mid-stream must free its row, and the server's resident memory must not grow
between a warm-up round and the load. Prints throughput and latency percentiles, under load and
one request at a time, and the cost of edits (docs/PERFORMANCE.md).

usage: load_test.py REMEDI_BINARY [--clients 64] [--requests 10] [--model PATH --editors DIR]
       [--prompt-format TEXT] [--max-tokens N]  (default: the tiny fixture with a trained editor)
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import socket
import statistics
import sys
import tempfile
import time

import openai
from serve_support import CITIES, KEY, Server, make_model_and_editors


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("remedi")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--model")
    parser.add_argument("--editors")
    parser.add_argument("--entities", default=",".join(CITIES))
    parser.add_argument("--prompt-format", default="the city of {entity} is in the country of")
    parser.add_argument("--context-format", default="{entity} is in {other}")
    parser.add_argument("--max-tokens", type=int, default=12)
    parser.add_argument("--max-batch", type=int, default=64)
    args = parser.parse_args()
    remedi = os.path.abspath(args.remedi)
    work = tempfile.mkdtemp(prefix="remedi-load-")
    env = dict(
        os.environ,
        REMEDI_NUM_THREADS=os.environ.get("REMEDI_NUM_THREADS", "1"),
        OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
    )
    try:
        model, editors = (args.model, args.editors) if args.model else make_model_and_editors(remedi, work, env)
        server = Server(remedi, model, editors, env, max_batch=args.max_batch)
        client = openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0, timeout=300)
        model_id = client.models.list().data[0].id
        entities = args.entities.split(",")

        # 32 request kinds: 16 edits, 16 unedited; each sent streamed or not.
        kinds = []
        for i in range(32):
            entity = entities[i % len(entities)]
            body = {}
            if i % 2 == 0:
                other = entities[(i // 2 + 1) % len(entities)]
                body["edits"] = [
                    {
                        "entity": entity,
                        "context": args.context_format.format(entity=entity, other=other),
                        "alpha": 1.0 + 0.1 * i,
                    }
                ]
            kinds.append((args.prompt_format.format(entity=entity), body))

        def send(kind, stream):
            prompt, body = kinds[kind]
            start = time.perf_counter()
            if stream:
                text, tokens = "", 0
                for chunk in client.completions.create(
                    model=model_id,
                    prompt=prompt,
                    max_tokens=args.max_tokens,
                    temperature=0,
                    stream=True,
                    extra_body=body,
                    stream_options={"include_usage": True},
                ):
                    if chunk.choices:
                        text += chunk.choices[0].text
                    if chunk.usage:
                        tokens = chunk.usage.completion_tokens
            else:
                r = client.completions.create(
                    model=model_id, prompt=prompt, max_tokens=args.max_tokens, temperature=0, extra_body=body
                )
                text, tokens = r.choices[0].text, r.usage.completion_tokens
            return text, tokens, time.perf_counter() - start

        # One at a time: the expected answers, and the sequential numbers.
        start = time.perf_counter()
        alone = [send(k, False) for k in range(len(kinds))]
        sequential_seconds = time.perf_counter() - start
        expected = [a[0] for a in alone]
        edited = [a[2] for k, a in enumerate(alone) if "edits" in kinds[k][1]]
        unedited = [a[2] for k, a in enumerate(alone) if "edits" not in kinds[k][1]]

        # A client that goes away mid-stream frees its row.
        with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1]))) as s:
            body = json.dumps(
                {"prompt": kinds[1][0], "max_tokens": args.max_tokens, "stream": True, "temperature": 0}
            ).encode()
            s.sendall(
                b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Authorization: Bearer "
                + KEY.encode()
                + b"\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
            s.recv(100)
        for _ in range(100):
            _, metrics = server.get("/metrics")
            if re.search(r"^remedi_active_rows 0$", metrics, re.MULTILINE):
                break
            time.sleep(0.1)
        else:
            sys.exit("load_test: the disconnected client's row was not freed")

        def client_run(c):
            out = []
            for r in range(args.requests):
                kind = (c * 7 + r * 3) % len(kinds)
                text, tokens, seconds = send(kind, stream=(c + r) % 2 == 0)
                out.append((kind, text, tokens, seconds))
            return out

        def load():
            with concurrent.futures.ThreadPoolExecutor(args.clients) as pool:
                return [x for xs in pool.map(client_run, range(args.clients)) for x in xs]

        load()  # warm-up: caches, allocator pools, connections
        rss_before = server.rss_kib()
        start = time.perf_counter()
        results = load()
        load_seconds = time.perf_counter() - start
        rss_after = server.rss_kib()
        mixed = [(k, t) for k, t, _, _ in results if t != expected[k]]
        if mixed:
            sys.exit(f"load_test: {len(mixed)} answers differ from the request alone, e.g. {mixed[0]}")
        latencies = [s for _, _, _, s in results]
        tokens = sum(n for _, _, n, _ in results)
        summary = {
            "clients": args.clients,
            "requests": len(results),
            "failed": 0,
            "mixed": 0,
            "load": {
                "seconds": round(load_seconds, 2),
                "tokens_per_s": round(tokens / load_seconds, 1),
                "p50_s": round(percentile(latencies, 0.5), 3),
                "p99_s": round(percentile(latencies, 0.99), 3),
            },
            "one_at_a_time": {
                "tokens_per_s": round(sum(a[1] for a in alone) / sequential_seconds, 1),
                "p50_s": round(percentile([a[2] for a in alone], 0.5), 3),
                "p99_s": round(percentile([a[2] for a in alone], 0.99), 3),
            },
            "edit_cost": {
                "edited_mean_s": round(statistics.mean(edited), 4),
                "unedited_mean_s": round(statistics.mean(unedited), 4),
            },
            "rss_kib": {"before": rss_before, "after": rss_after},
        }
        print(json.dumps(summary))
        # Some growth is the allocator settling; a leak per request would be far more (640 requests).
        if rss_after > rss_before * 1.10 + 20 * 1024:
            sys.exit(f"load_test: resident memory grew from {rss_before} to {rss_after} KiB")
        server.proc.terminate()
        if server.proc.wait(timeout=60) != 0:
            sys.exit("load_test: the server did not exit 0 after SIGTERM")
        print("load_test: all checks passed")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
