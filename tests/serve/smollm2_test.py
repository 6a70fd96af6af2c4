"""`remedi serve -m smollm2 -e smollm2-counterfact` (the default model and the shipped editor) with the
official openai client: the edited completion is the continuation `remedi edit` shows after the edit
and differs from the unedited one, which is `remedi edit`'s "before"; chat renders the model's own
ChatML template (with its default system message). Exits 77 (skipped) when the default model has not
been fetched (scripts/fetch-model.sh).

usage: smollm2_test.py REMEDI_BINARY
"""

import glob
import os
import sys

import openai
from serve_support import KEY, Server, remedi_edit_json


def main():
    remedi = os.path.abspath(sys.argv[1])
    home = os.environ.get("REMEDI_HOME") or os.path.expanduser("~/.cache/remedi")
    if not glob.glob(os.path.join(home, "SmolLM2*.gguf")):
        print(f"smollm2_test: skipped, no SmolLM2 GGUF in {home} (scripts/fetch-model.sh)")
        sys.exit(77)
    env = dict(os.environ, REMEDI_NUM_THREADS="1", OMP_NUM_THREADS="1")
    server = Server(remedi, "smollm2", "smollm2-counterfact", env, chat_template="auto")
    client = openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0, timeout=120)
    model_id = client.models.list().data[0].id
    prompt, entity, context = "Dolomiten is written in", "Dolomiten", "Dolomiten is written in Russian"

    expected = remedi_edit_json(
        remedi, ["-e", "smollm2-counterfact", "--entity", entity, "--context", context, "--prompt", prompt], env
    )
    plain = client.completions.create(model=model_id, prompt=prompt, max_tokens=12, temperature=0)
    edited = client.completions.create(
        model=model_id,
        prompt=prompt,
        max_tokens=12,
        temperature=0,
        extra_body={"edits": [{"entity": entity, "context": context}], "return_edit": True},
    )
    assert plain.choices[0].text == expected["before"]["continuation"], (plain.choices[0].text, expected["before"])
    assert edited.choices[0].text == expected["after"]["continuation"], (edited.choices[0].text, expected["after"])
    assert edited.choices[0].text != plain.choices[0].text, "the edit did not change the answer"
    report = edited.model_extra["edit"]
    assert [t["id"] for t in report["after"]] == [t["id"] for t in expected["after"]["top_tokens"]], report

    chat = client.chat.completions.create(
        model=model_id,
        max_tokens=12,
        temperature=0,
        messages=[{"role": "user", "content": "What is the capital of France?"}],
    )
    assert "Paris" in chat.choices[0].message.content, chat
    assert chat.usage.prompt_tokens > 30, "the template's default system message is missing"
    server.proc.terminate()
    assert server.proc.wait(timeout=60) == 0
    print(f"smollm2_test: all checks passed (edited: {edited.choices[0].text!r}; unedited: {plain.choices[0].text!r})")


if __name__ == "__main__":
    main()
