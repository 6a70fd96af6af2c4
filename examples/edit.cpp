// The smallest complete use of the remedi library: load SmolLM2 and a trained editor, edit one fact,
// and print the top next tokens before and after the edit.
//
//   edit [MODEL [EDITORS_DIR]]    default: smollm2 and the editor shipped in data/editors
//
// Built against the installed package (examples/CMakeLists.txt: find_package(remedi)).
#include <remedi/remedi.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  using namespace remedi;
  try {
    const std::string model_name = argc > 1 ? argv[1] : "smollm2";
    const std::string editors = argc > 2 ? argv[2] : evaluate::editors_dir("smollm2-counterfact");
    const lm::LoadedModel model = lm::load_model(model_name);  // CPU, float32
    const std::shared_ptr<Editor> editor = load_editor(editors, "linear", /*layer=*/6, model.lm());
    editor->eval();

    EditRequest request;
    request.prompt = "The language Dolomiten was written in is called";
    request.entity = "Dolomiten";
    request.context = "Dolomiten is written in Russian";  // the attribute: "is written in Russian"
    request.editor = editor;
    const PreparedEdits edits = prepare_edits(model, {request});

    const auto before = top_next_tokens(model, edits, 5, /*edited=*/false).front();
    const auto after = top_next_tokens(model, edits, 5, /*edited=*/true).front();
    // Tokens quoted, so that spaces and newlines show.
    const auto quoted = [&](std::int64_t id) { return "\"" + model.tok().decode({id}) + "\""; };
    std::printf("%s ...\n%-28s %-28s\n", request.prompt.c_str(), "before", "after");
    for (std::size_t k = 0; k < before.size(); ++k) {
      std::printf("%-20s %6.2f%% %-20s %6.2f%%\n", quoted(before[k].id).c_str(), 100 * before[k].probability,
                  quoted(after[k].id).c_str(), 100 * after[k].probability);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "edit: %s\n", e.what());
    return 2;
  }
}
