"""The playground page of `remedi serve` (GET /) in headless Chromium, driven through the DevTools
protocol over a pipe (--remote-debugging-pipe: no extra Python package): the test types into the
form, submits it, waits for the streamed result, reads it from the DOM (the continuations before and
after the edit must be the ones /v1/completions gives, with ten bars each side), and takes a
screenshot that it decodes (PNG: zlib and the scanline filters) and checks is not blank.

usage: playground_test.py REMEDI_BINARY
"""

import base64
import json
import os
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import openai
from serve_support import KEY, Server, make_model_and_editors


def find_browser():
    for name in (os.environ.get("REMEDI_CHROMIUM", ""), "chromium-headless-shell", "chromium", "chromium-browser"):
        if name and shutil.which(name):
            return shutil.which(name)
    sys.exit("playground_test: no headless Chromium (run scripts/setup.sh, or set $REMEDI_CHROMIUM)")


class DevTools:
    """The DevTools protocol over --remote-debugging-pipe: JSON messages ending with a NUL byte."""

    def __init__(self, browser, profile):
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        os.set_inheritable(to_browser_r, True)
        os.set_inheritable(from_browser_w, True)

        def child_fds():  # the browser reads commands on fd 3 and writes answers on fd 4
            high_r, high_w = os.dup(to_browser_r) + 100, os.dup(from_browser_w) + 100
            os.dup2(to_browser_r, high_r)
            os.dup2(from_browser_w, high_w)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        # close_fds=False: with it, the child would close fds 3 and 4 after child_fds ran.
        self.proc = subprocess.Popen(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "--window-size=1200,900",
                "about:blank",
            ],
            preexec_fn=child_fds,  # noqa: PLW1509 (Chromium reads fds 3 and 4; no threads run yet)
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buffer = b""
        self.next_id = 0
        self.session = None

    def call(self, method, params=None, session=True):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self.buffer:
                if not select.select([self.from_browser], [], [], 60)[0]:
                    sys.exit(f"playground_test: no answer from the browser to {method}")
                chunk = os.read(self.from_browser, 1 << 16)
                if not chunk:
                    sys.exit("playground_test: the browser closed the pipe")
                self.buffer += chunk
            raw, self.buffer = self.buffer.split(b"\0", 1)
            answer = json.loads(raw)
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    sys.exit(f"playground_test: {method}: {answer['error']}")
                return answer["result"]

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            sys.exit(f"playground_test: {expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self):
        self.proc.kill()
        self.proc.wait()


def png_pixels(data):
    """(width, height, channels, rows of bytes) of an 8-bit RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    at, idat, width, height, channels = 8, b"", 0, 0, 0
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        body = data[at + 8 : at + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), f"PNG depth {depth} colour {colour}"
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    raw, stride, rows, previous = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up, corner = previous[x], previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(line)
        previous = line
    return width, height, channels, rows


def main():
    remedi = os.path.abspath(sys.argv[1])
    browser = find_browser()
    work = tempfile.mkdtemp(prefix="remedi-playground-")
    env = dict(os.environ, REMEDI_NUM_THREADS="1", OMP_NUM_THREADS="1")
    tools = None
    try:
        model, editors = make_model_and_editors(remedi, work, env)
        server = Server(remedi, model, editors, env)
        prompt, entity, context, alpha = "the city of paris is in the country of", "paris", "paris is in oslo", "3"

        # What the API gives for the same form, unedited and edited.
        client = openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0)
        base = {"model": "model", "prompt": prompt, "max_tokens": 20, "temperature": 0}
        before = client.completions.create(**base).choices[0].text
        after = (
            client.completions.create(
                **base, extra_body={"edits": [{"entity": entity, "context": context, "alpha": float(alpha)}]}
            )
            .choices[0]
            .text
        )

        tools = DevTools(browser, os.path.join(work, "profile"))
        target = tools.call("Target.createTarget", {"url": server.url + "/"})["targetId"]
        tools.session = tools.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        deadline = time.time() + 30
        while not tools.evaluate("document.readyState == 'complete' && document.getElementById('submit') !== null"):
            if time.time() > deadline:
                sys.exit("playground_test: the page did not load")
            time.sleep(0.1)
        for field, value in (
            ("prompt", prompt),
            ("entity", entity),
            ("context", context),
            ("alpha", alpha),
            ("max_tokens", "20"),
            ("key", KEY),
        ):
            tools.evaluate(f"document.getElementById('{field}').focus(); document.getElementById('{field}').select()")
            tools.call("Input.insertText", {"text": value})
        box = tools.evaluate(
            "(() => { const r = document.getElementById('submit').getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            tools.call(
                "Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1}
            )
        while tools.evaluate("document.getElementById('status').textContent") not in ("done", "failed"):
            if time.time() > deadline + 30:
                sys.exit("playground_test: no result in the page")
            time.sleep(0.1)
        dom = tools.evaluate(
            "JSON.stringify({error: document.getElementById('error').textContent,"
            " before: document.getElementById('before').textContent,"
            " after: document.getElementById('after').textContent,"
            " bars_before: document.querySelectorAll('#top_before .top').length,"
            " bars_after: document.querySelectorAll('#top_after .top').length})"
        )
        dom = json.loads(dom)
        assert dom["error"] == "", dom
        assert dom["before"] == before, f"page before {dom['before']!r} != API {before!r}"
        assert dom["after"] == after, f"page after {dom['after']!r} != API {after!r}"
        assert dom["bars_before"] == 10 and dom["bars_after"] == 10, dom

        shot = base64.b64decode(tools.call("Page.captureScreenshot", {"format": "png"})["data"])
        with open(os.path.join(os.environ.get("REMEDI_SCREENSHOT_DIR", work), "playground.png"), "wb") as f:
            f.write(shot)
        width, height, channels, rows = png_pixels(shot)
        drawn = sum(1 for row in rows for x in range(0, width * channels, channels) if min(row[x : x + 3]) < 200) / (
            width * height
        )
        assert drawn > 0.01, f"screenshot nearly blank: {drawn:.4f} of the pixels drawn"
        print(f"playground_test: all checks passed ({width}x{height} screenshot, {drawn:.1%} drawn)")
    finally:
        if tools:
            tools.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
