"""Edit one fact in SmolLM2 with the editor shipped in data/editors (docs/PYTHON.md)."""

import remedi

model = remedi.load_model("smollm2")  # fetched by scripts/fetch-model.sh into ~/.cache/remedi
editors = remedi.load_editors(model, "smollm2-counterfact")  # shipped in data/editors
edit = remedi.Edit(entity="Dolomiten", context="Dolomiten is written in Russian", editor=editors)
prompt = "The language Dolomiten was written in is called"
for name, edits in (("before", None), ("after", [edit])):
    top = model.top_next_tokens(prompt, edits, k=5)[0]
    print(f"{name}: " + ", ".join(f"{t.token!r} {t.probability:.1%}" for t in top))
    print(f"       {prompt}{model.generate(prompt, edits, max_new_tokens=12)[0]}")
