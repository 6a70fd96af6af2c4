"""Expected chat prompts for tests/serve/chat_template_test.cpp, rendered by transformers'
`apply_chat_template` (its Jinja sandbox, as every HF user renders them) from the families' own
templates. The templates are not stored in this repository: pass the folder holding them, e.g. the
`models/templates` folder of llama.cpp at c392e509 (the copy the performance peers' set-up exports),
which keeps each model's tokenizer_config.json template as a .jinja file. Their sha256 is recorded.

    .venv/bin/python tests/reference/make_chat_fixtures.py TEMPLATES_DIR tests/fixtures/serve/chat_templates.json
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from jinja2.exceptions import TemplateError
from transformers import PreTrainedTokenizerFast

FIXTURE_TOKENIZER = Path(__file__).resolve().parents[1] / "fixtures" / "tok" / "tiny_gpt2" / "tokenizer.json"

# file, the kind the C++ reads it as, the settings it should find, the BOS text of that family
TEMPLATES = [
    (
        "Qwen-Qwen2.5-7B-Instruct.jinja",
        "chatml",
        {"default_system": "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."},
        "",
    ),
    (
        "meta-llama-Llama-3.1-8B-Instruct.jinja",
        "llama3",
        {"dated_system": True, "date": "26 Jul 2024"},
        "<|begin_of_text|>",
    ),
    (
        "meta-llama-Llama-3.3-70B-Instruct.jinja",
        "llama3",
        {"dated_system": True, "date": "26 Jul 2024"},
        "<|begin_of_text|>",
    ),
    # 3.2 asks the clock (strftime_now); the date is passed as the template's own date_string here
    (
        "meta-llama-Llama-3.2-3B-Instruct.jinja",
        "llama3",
        {"dated_system": True, "date": "06 Dec 2026"},
        "<|begin_of_text|>",
    ),
    ("google-gemma-2-2b-it.jinja", "gemma", {"system_role": False}, "<bos>"),
    ("microsoft-Phi-3.5-mini-instruct.jinja", "phi3", {}, "<s>"),
]

CONVERSATIONS = [
    [{"role": "user", "content": "Hello!"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is 2+2?"}],
    [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "  Tell me a joke.  \n"},
    ],
    [
        {"role": "system", "content": " Be kind.\n"},
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
    ],
    [{"role": "user", "content": "Grüße 👋 日本語\n\nzwei Zeilen"}],
    [{"role": "user", "content": "one"}, {"role": "user", "content": "two"}],
    [{"role": "system", "content": ""}, {"role": "user", "content": "empty system"}],
]


def main() -> None:
    folder, out = Path(sys.argv[1]), Path(sys.argv[2])
    entries = []
    for name, kind, settings, bos in TEMPLATES:
        text = (folder / name).read_text()
        tokenizer = PreTrainedTokenizerFast(
            tokenizer_file=str(FIXTURE_TOKENIZER), bos_token=bos or None, eos_token="</s>"
        )
        cases = []
        for messages in CONVERSATIONS:
            extra = {"date_string": settings["date"]} if "strftime_now" in text else {}
            try:
                prompt = tokenizer.apply_chat_template(
                    messages, chat_template=text, tokenize=False, add_generation_prompt=True, **extra
                )
                cases.append({"messages": messages, "prompt": prompt})
            except TemplateError as error:  # the template's raise_exception: the C++ must refuse too
                cases.append({"messages": messages, "error": str(error)})
        entries.append(
            {
                "template": name,
                "sha256": hashlib.sha256(text.encode()).hexdigest(),
                "kind": kind,
                "settings": settings,
                "bos": bos,
                "cases": cases,
            }
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"source": "transformers apply_chat_template", "templates": entries}, ensure_ascii=False, indent=1)
        + "\n"
    )


if __name__ == "__main__":
    main()
