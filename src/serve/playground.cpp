#include "serve/playground.h"

namespace remedi::serve {

const std::string& playground_html() {
  static const std::string page = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>remedi playground</title>
<style>
body{font:15px system-ui,sans-serif;margin:2em;max-width:70em;color:#222;background:#fff}
label{display:block;margin:.4em 0 .1em;font-weight:600}
input,textarea{width:100%;box-sizing:border-box;font:inherit;padding:.3em}
.row{display:flex;gap:1.5em}.row>div{flex:1}
button{margin-top:.8em;padding:.4em 1.5em;font:inherit;background:#2458b3;color:#fff;border:0;border-radius:4px}
pre{white-space:pre-wrap;background:#f3f5f9;padding:.6em;min-height:3em;border-radius:4px}
.bar{height:1.1em;background:#6f95d8;display:inline-block;vertical-align:middle;margin-right:.4em}
.tok{font-family:monospace;display:inline-block;width:9em;overflow:hidden}
#error{color:#b00}
</style></head><body>
<h1>remedi playground</h1>
<form id="form">
<label for="prompt">Prompt</label><textarea id="prompt" rows="2">The Eiffel Tower is located in the city of</textarea>
<div class="row">
<div><label for="entity">Entity</label><input id="entity" value="The Eiffel Tower"></div>
<div><label for="context">Context (or attribute)</label><input id="context" value="The Eiffel Tower is located in Rome"></div>
</div>
<div class="row">
<div><label for="alpha">alpha</label><input id="alpha" type="number" step="0.1" value="1"></div>
<div><label for="max_tokens">max tokens</label><input id="max_tokens" type="number" value="20"></div>
<div><label for="key">API key (if any)</label><input id="key" type="password"></div>
</div>
<button id="submit" type="submit">Run</button>
</form>
<p id="error"></p>
<div class="row">
<div><h2>Before</h2><pre id="before"></pre><div id="top_before"></div></div>
<div><h2>After the edit</h2><pre id="after"></pre><div id="top_after"></div></div>
</div>
<p id="status"></p>
<script>
const $ = id => document.getElementById(id);
function bars(el, tokens) {
  el.textContent = "";
  for (const t of tokens) {
    const line = document.createElement("div");
    line.className = "top";
    const name = document.createElement("span");
    name.className = "tok"; name.textContent = JSON.stringify(t.token);
    const bar = document.createElement("span");
    bar.className = "bar"; bar.style.width = Math.max(1, Math.round(300 * t.prob)) + "px";
    const p = document.createElement("span");
    p.textContent = (100 * t.prob).toFixed(1) + "%";
    line.append(name, bar, p); el.append(line);
  }
}
async function stream(body, out, onLast) {
  const headers = {"Content-Type": "application/json"};
  if ($("key").value) headers["Authorization"] = "Bearer " + $("key").value;
  const res = await fetch("/v1/completions", {method: "POST", headers, body: JSON.stringify(body)});
  if (!res.ok) { const e = await res.json(); throw new Error(e.error.message); }
  const reader = res.body.getReader(); const dec = new TextDecoder(); let buf = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buf += dec.decode(value, {stream: true});
    let at;
    while ((at = buf.indexOf("\n\n")) >= 0) {
      const line = buf.slice(0, at); buf = buf.slice(at + 2);
      if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
      const chunk = JSON.parse(line.slice(6));
      if (chunk.error) throw new Error(chunk.error.message);
      out.textContent += chunk.choices[0].text;
      if (chunk.edit && onLast) onLast(chunk.edit);
    }
  }
}
$("form").addEventListener("submit", async ev => {
  ev.preventDefault();
  $("error").textContent = ""; $("status").textContent = "running...";
  for (const id of ["before", "after", "top_before", "top_after"]) $(id).textContent = "";
  const prompt = $("prompt").value, n = parseInt($("max_tokens").value, 10);
  const edit = {entity: $("entity").value, context: $("context").value, alpha: parseFloat($("alpha").value)};
  const base = {prompt, max_tokens: n, temperature: 0, stream: true};
  try {
    await Promise.all([
      stream(base, $("before")),
      stream({...base, edits: [edit], return_edit: true}, $("after"), e => {
        bars($("top_before"), e.before); bars($("top_after"), e.after);
      })]);
    $("status").textContent = "done";
  } catch (e) { $("error").textContent = e.message; $("status").textContent = "failed"; }
});
</script></body></html>
)HTML";
  return page;
}

}  // namespace remedi::serve
