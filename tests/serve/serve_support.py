"""What the `remedi serve` tests share: a tiny model with a trained editor, and a server process."""

import atexit
import json
import os
import re
import shutil
import subprocess
import threading
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEY = "test-key"
CITIES = [
    "paris",
    "rome",
    "berlin",
    "madrid",
    "lisbon",
    "athens",
    "oslo",
    "cairo",
    "delhi",
    "havana",
    "ankara",
    "nairobi",
]


def make_model_and_editors(remedi, work, env):
    model = os.path.join(work, "model")
    os.makedirs(model)
    for name in ("gpt2/config.json", "gpt2/model.safetensors", "tokenizer.json"):
        shutil.copy(os.path.join(ROOT, "tests/fixtures/lm", name), model)
    samples = os.path.join(work, "samples.jsonl")
    with open(samples, "w") as f:
        for i, city in enumerate(CITIES):
            new, true = CITIES[(i + 3) % len(CITIES)], CITIES[(i + 5) % len(CITIES)]
            f.write(
                json.dumps(
                    {
                        "id": city,
                        "entity": city,
                        "context": f"{city} is in {new}",
                        "attribute": f"is in {new}",
                        "prompt": f"the city of {city} is in",
                        "target_mediated": new,
                        "target_unmediated": true,
                    }
                )
                + "\n"
            )
    subprocess.run(
        [
            remedi,
            "train",
            "-n",
            "demo",
            "-m",
            model,
            "-d",
            "samples",
            "-f",
            samples,
            "--rows",
            "train[:12]",
            "-l",
            "1",
            "--max-epochs",
            "1",
            "--batch-size",
            "4",
            "--hold-out",
            "0.25",
            "--seed",
            "3",
            "-q",
            "--results-dir",
            os.path.join(work, "results"),
        ],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return model, os.path.join(work, "results", "demo")


class Server:
    def __init__(self, remedi, model, editors, env, max_batch=16, chat_template="chatml"):
        self.proc = subprocess.Popen(
            [
                remedi,
                "serve",
                "-m",
                model,
                "-e",
                editors,
                "--port",
                "0",
                "--chat-template",
                chat_template,
                "--api-key",
                KEY,
                "--max-batch",
                str(max_batch),
                "--max-body",
                "65536",
            ],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        line = self.proc.stderr.readline()
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        assert match, f"no listening line: {line!r}"
        self.url = f"http://127.0.0.1:{match.group(1)}"
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()
        atexit.register(self.proc.kill)  # never leave a server behind a failed test

    def post(self, path, body, key=KEY):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            return int(next(line for line in f if line.startswith("VmRSS:")).split()[1])

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=60) as r:
            return r.status, r.read().decode()


def remedi_edit_json(remedi, args, env):
    """What `remedi edit ARGS --json` prints, parsed: the reference an edited server answer must equal."""
    out = subprocess.run([remedi, "edit", *args, "--json"], check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout)
