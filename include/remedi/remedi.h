// remedi: REMEDI (Hernandez, Li & Andreas 2023) in C++ on libtorch. The public API, in one header.
//
// The library is what the `remedi` command line, the Python package and the server are built on; every
// command is a thin door onto one of these calls. A program includes this header and links the
// installed package:
//
//   find_package(remedi REQUIRED)                    # CMake, with CMAKE_PREFIX_PATH=<install prefix>
//   target_link_libraries(my_program PRIVATE remedi::remedi)
//
// The rooms (docs/ARCHITECTURE.md), from the bottom up, each a folder of headers included here:
//
//   Models        lm::load_model(name or path, {device, dtype}) -> lm::LoadedModel {model, tokenizer}
//                 (lm/loaded_model.h). The model: CausalLM::forward(batch, {capture_layers,
//                 interventions, logits, cache}) -> logits (B, T|1, V) and block outputs (B, T, H)
//                 (lm/model.h); lm::generate(model, left-padded batch, {max_new_tokens, top_k, seed,
//                 interventions}) (lm/generate.h); tokenizer.encode(text) -> ids and offsets
//                 (tok/tokenizer.h); lm::encode_batch pads a list of texts (lm/batching.h);
//                 lm::complete_prompts(model, prompts, options) -> texts with per-step log-probabilities
//                 (lm/completion.h); lm::inspect_model_file(path) reads a file's headers (lm/model_info.h);
//                 lm::write_random_init_model writes the control model (lm/random_init.h).
//   Editors       load_editor(editors_dir, type, layer, model), make_editor(config, seed), save_editor
//                 (remedi/editor.h, remedi/editor_file.h); the original's weights.pth editors:
//                 find_pth_editors, import_pth_editors (remedi/pth_import.h).
//   Edits         prepare_edits(model, {EditRequest{prompt, entity, context | attribute, editor,
//                 alpha, beta}, ...}) -> directions (B, H) and the interventions that add them, one
//                 call for one request or a batch of different ones; top_next_tokens,
//                 generate_tokens, or both from one pass, continue_prompts (remedi/edit.h).
//   Data          data::load_dataset(name, path) -> mediation samples; row selectors
//                 "train[5000:5200]" (data/datasets.h, data/splits.h); evaluate::load_samples.
//   Training      precompute_editor_inputs, make_training_split, train_editor(model, editor, train,
//                 validation, {loss weights, lr, epochs, patience, checkpoint, resume, progress})
//                 (remedi/precompute.h, remedi/trainer.h); a whole `remedi train` run, data set to
//                 saved editors: train_editors(model, TrainRunOptions, progress) (remedi/train_run.h).
//   Evaluation    the paper's benchmarks as functions returning their results (evaluate/*.h); the
//                 results folder's file names (eval/results_layout.h); the layer rule of METHOD §8.15,
//                 eval::select_layer (eval/layer_selection.h); metrics (eval/metrics.h); the paper's
//                 experiments as remedi command lines (evaluate/experiments.h).
//
// Conventions: tensors are libtorch's; shapes are written (B, T, H) for batch, tokens, hidden size
// and V for the vocabulary. Block output l is the residual stream after block l (0-based). Errors
// are remedi::Error (util/error.h): one line naming the file (or argument) and field at fault.
#pragma once

#include "data/datasets.h"         // IWYU pragma: export
#include "data/sample.h"           // IWYU pragma: export
#include "data/splits.h"           // IWYU pragma: export
#include "eval/layer_selection.h"  // IWYU pragma: export
#include "eval/metrics.h"          // IWYU pragma: export
#include "eval/results_layout.h"   // IWYU pragma: export
#include "evaluate/experiments.h"  // IWYU pragma: export
#include "evaluate/setup.h"        // IWYU pragma: export
#include "lm/batching.h"           // IWYU pragma: export
#include "lm/completion.h"         // IWYU pragma: export
#include "lm/generate.h"           // IWYU pragma: export
#include "lm/loaded_model.h"       // IWYU pragma: export
#include "lm/model.h"              // IWYU pragma: export
#include "lm/model_info.h"         // IWYU pragma: export
#include "lm/random_init.h"        // IWYU pragma: export
#include "remedi/edit.h"           // IWYU pragma: export
#include "remedi/editor.h"         // IWYU pragma: export
#include "remedi/editor_file.h"    // IWYU pragma: export
#include "remedi/precompute.h"     // IWYU pragma: export
#include "remedi/pth_import.h"     // IWYU pragma: export
#include "remedi/train_run.h"      // IWYU pragma: export
#include "remedi/trainer.h"        // IWYU pragma: export
#include "tok/tokenizer.h"         // IWYU pragma: export
#include "util/error.h"            // IWYU pragma: export

// The evaluations, one function each (evaluate/<name>.h).
#include "evaluate/bias_cls.h"        // IWYU pragma: export
#include "evaluate/bias_gen.h"        // IWYU pragma: export
#include "evaluate/directions.h"      // IWYU pragma: export
#include "evaluate/entailment.h"      // IWYU pragma: export
#include "evaluate/fact_cls.h"        // IWYU pragma: export
#include "evaluate/fact_gen.h"        // IWYU pragma: export
#include "evaluate/fact_mediation.h"  // IWYU pragma: export
