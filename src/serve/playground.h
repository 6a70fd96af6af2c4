// The playground page `remedi serve` answers at GET /: one self-contained HTML page (no external
// script, style or font) with a form (prompt, entity, context or attribute, alpha), the edited and
// unedited continuations streamed side by side, and the top next tokens before and after the edit
// as bars (the `return_edit` report of /v1/completions).
#pragma once

#include <string>

namespace remedi::serve {

const std::string& playground_html();

}  // namespace remedi::serve
