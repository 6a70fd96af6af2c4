"""`remedi serve` end to end with the official openai client (tests/CMakeLists.txt runs it).

On the tiny GPT-2 fixture (tests/fixtures/lm) with a linear editor trained for one epoch by
`remedi train`: completions, chat (ChatML forced with --chat-template), streaming, edits through
`extra_body` (the edited continuation equals `remedi edit`'s), 32 concurrent requests with 32
different edits equal to each request alone, the errors (400 naming the field, 401 without the
key), /v1/models, /health, /metrics, and SIGTERM draining a request in flight and exiting 0.

usage: openai_client_test.py REMEDI_BINARY
"""

import concurrent.futures
import os
import re
import shutil
import signal
import sys
import tempfile

import openai
from serve_support import CITIES, KEY, Server, make_model_and_editors, remedi_edit_json


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def main():
    remedi = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="remedi-serve-")
    env = dict(os.environ, REMEDI_NUM_THREADS="1", OMP_NUM_THREADS="1")
    try:
        model, editors = make_model_and_editors(remedi, work, env)
        server = Server(remedi, model, editors, env)
        client = openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0, timeout=60)
        model_id = client.models.list().data[0].id
        check(model_id == "model", f"/v1/models: {model_id}")

        # Completions, plain and streamed: the same greedy text.
        prompt = "the city of paris is in"
        plain = client.completions.create(model=model_id, prompt=prompt, max_tokens=10, temperature=0)
        check(plain.choices[0].finish_reason in ("stop", "length"), plain)
        check(plain.usage.prompt_tokens > 0 and plain.usage.completion_tokens > 0, plain.usage)
        streamed = "".join(
            c.choices[0].text
            for c in client.completions.create(model=model_id, prompt=prompt, max_tokens=10, temperature=0, stream=True)
        )
        check(streamed == plain.choices[0].text, f"stream {streamed!r} != {plain.choices[0].text!r}")
        with_logprobs = client.completions.create(
            model=model_id, prompt=prompt, max_tokens=3, temperature=0, logprobs=2
        )
        check(
            len(with_logprobs.choices[0].logprobs.top_logprobs) == with_logprobs.usage.completion_tokens
            or with_logprobs.choices[0].finish_reason == "stop",
            with_logprobs,
        )

        offsets = [
            o
            for c in client.completions.create(
                model=model_id, prompt=prompt, max_tokens=6, temperature=0, logprobs=1, stream=True
            )
            if c.choices and c.choices[0].logprobs
            for o in c.choices[0].logprobs.text_offset
        ]
        check(len(offsets) == 6 and offsets == sorted(set(offsets)), f"streamed text_offset {offsets}")

        # Chat, plain and streamed.
        messages = [{"role": "system", "content": "answer"}, {"role": "user", "content": "where is paris?"}]
        chat = client.chat.completions.create(model=model_id, messages=messages, max_tokens=8, temperature=0)
        check(chat.choices[0].message.role == "assistant", chat)
        chunks = list(
            client.chat.completions.create(
                model=model_id,
                messages=messages,
                max_tokens=8,
                temperature=0,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        check(text == chat.choices[0].message.content, f"chat stream {text!r} != {chat.choices[0].message.content!r}")
        check(chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0, chunks[-1])

        # An edit through extra_body: the continuation `remedi edit` shows, and the before/after report.
        edit = {"entity": "paris", "context": "paris is in oslo", "alpha": 3.0}
        edited = client.completions.create(
            model=model_id,
            prompt=prompt,
            max_tokens=12,
            temperature=0,
            extra_body={"edits": [edit], "return_edit": True},
        )
        report = edited.model_extra["edit"]
        check(len(report["before"]) == 10 and len(report["after"]) == 10, report)
        check([t["prob"] for t in report["before"]] != [t["prob"] for t in report["after"]], "the edit changed nothing")
        expected = remedi_edit_json(
            remedi,
            [
                "-m",
                model,
                "-e",
                editors,
                "--entity",
                "paris",
                "--context",
                "paris is in oslo",
                "--prompt",
                prompt,
                "--alpha",
                "3",
            ],
            env,
        )
        check(
            edited.choices[0].text == expected["after"]["continuation"],
            f"served {edited.choices[0].text!r} != remedi edit {expected['after']['continuation']!r}",
        )
        check([t["id"] for t in report["after"]] == [t["id"] for t in expected["after"]["top_tokens"]], report)

        # 32 concurrent requests with 32 different edits equal each request alone.
        def request(i):
            city = CITIES[i % len(CITIES)]
            body = {
                "edits": [
                    {
                        "entity": city,
                        "context": f"{city} is in {CITIES[(i + 1 + i // 12) % 12]}",
                        "alpha": 1.0 + 0.25 * i,
                    }
                ]
            }
            return client.completions.create(
                model=model_id,
                prompt=f"the city of {city} is in the country of",
                max_tokens=8 + i % 5,
                temperature=0,
                logprobs=0,
                extra_body=body,
            )

        alone = [request(i) for i in range(32)]
        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            together = list(pool.map(request, range(32)))
        for i in range(32):
            a, t = alone[i].choices[0], together[i].choices[0]
            check(
                a.text == t.text and a.logprobs.tokens == t.logprobs.tokens,
                f"request {i}: together {t.text!r} != alone {a.text!r}",
            )
        _, metrics = server.get("/metrics")
        batches = re.search(r"remedi_decode_batch_rows_sum (\d+)\nremedi_decode_batch_rows_count (\d+)", metrics)
        check(batches and int(batches.group(1)) > int(batches.group(2)), "no decode step had several rows")

        # Errors: a JSON error naming the field, never a crash.
        def refused(body, param, status=400, key=KEY, path="/v1/completions"):
            code, answer = server.post(path, body, key)
            check(code == status and answer["error"]["param"] == param, f"{body!r}: {code} {answer}")

        refused(b'{"prompt": ', None)
        refused({"prompt": "a", "frobnicate": 1}, "frobnicate")
        refused({"prompt": "a", "max_tokens": "5"}, "max_tokens")
        refused(
            {"prompt": "the city of rome", "edits": [{"entity": "paris", "context": "paris is big"}]}, "edits[0].entity"
        )
        refused({"prompt": "word " * 300}, "prompt")
        refused({"prompt": "a", "max_tokens": 1000}, "max_tokens")
        refused({"prompt": "x" * 70000}, "body")
        refused(
            {"prompt": "paris", "edits": [{"entity": "paris", "context": "paris is big", "layer": 2}]}, "edits[0].layer"
        )
        refused({"prompt": "a"}, "Authorization", status=401, key=None)
        refused({"prompt": "a"}, "Authorization", status=401, key="wrong")
        refused({"messages": [{"role": "user"}], "n": 2}, "n", path="/v1/chat/completions")
        check(server.get("/health") == (200, '{"status":"ok"}'), "health")
        _, page = server.get("/")
        check("<form" in page and "http://" not in page and "https://" not in page, "playground page")
        _, metrics = server.get("/metrics")
        check('remedi_requests_total{endpoint="/v1/completions",status="400"}' in metrics, metrics[:400])

        # SIGTERM while a stream is in flight: the stream finishes, the process exits 0.
        stream = client.completions.create(model=model_id, prompt=prompt, max_tokens=40, temperature=0, stream=True)
        first = next(iter(stream))
        server.proc.send_signal(signal.SIGTERM)
        rest = [c.choices[0].text for c in stream]
        check(first.choices[0].text is not None and len(rest) >= 1, "the stream did not finish")
        code = server.proc.wait(timeout=60)
        check(code == 0, f"exit code {code} after SIGTERM")
        print("openai_client_test: all checks passed")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
