"""remedi: REMEDI (Hernandez, Li & Andreas 2023) in Python, on remedi's C++ library.

Read and edit what a language model believes, in its hidden states::

    import remedi
    model = remedi.load_model("smollm2")
    editors = remedi.load_editors(model, "data/editors/smollm2-counterfact")
    edit = remedi.Edit(entity="Dolomiten", context="Dolomiten is written in Russian", editor=editors)
    model.top_next_tokens("Dolomiten is written in", edits=[edit])

Everything here is a thin door onto the C++ library (include/remedi/remedi.h): the same model runtime,
editors, data sets, training and evaluations as the ``remedi`` command line, in the process of the
``torch`` you imported (tensors cross as ``torch.Tensor`` without copies). Errors from bad input are
:class:`remedi.Error` (a ``ValueError``) carrying the library's one-line message naming the file,
field or argument at fault. docs/PYTHON.md lists the API.
"""

from __future__ import annotations

import os as _os
from pathlib import Path as _Path

import torch as _torch

# An installed package carries the data the commands read by default (a checkout's data/ and
# experiments/ are compiled in instead); an explicit $REMEDI_DATA / $REMEDI_EXPERIMENTS wins.
_here = _Path(__file__).resolve().parent
if (_here / "data").is_dir():
    _os.environ.setdefault("REMEDI_DATA", str(_here / "data"))
if (_here / "experiments").is_dir():
    _os.environ.setdefault("REMEDI_EXPERIMENTS", str(_here / "experiments"))

try:
    from . import _core
except ImportError as error:  # typically: built against another torch (undefined libtorch symbols)
    raise ImportError(
        f"remedi: cannot load its extension ({error}); it links the libtorch of the torch it was built "
        f"against, and this is torch {_torch.__version__}: reinstall remedi (pip install .) in this environment"
    ) from error
if _torch.__version__.split("+")[0] != _core.torch_version:
    raise ImportError(
        f"remedi was built against torch {_core.torch_version} but torch {_torch.__version__} is imported: "
        f"install torch=={_core.torch_version} or rebuild remedi (pip install .) in this environment"
    )
from . import datasets, evaluate
from ._api import (
    Edit,
    ForwardOutput,
    Model,
    PreparedEdits,
    TokenProbability,
    load_editor,
    load_editors,
    load_model,
    prepare_edits,
    train,
)
from ._core import Editor, Encoding, Error, Intervention

__version__: str = _core.__version__

__all__ = [
    "Edit",
    "Editor",
    "Encoding",
    "Error",
    "ForwardOutput",
    "Intervention",
    "Model",
    "PreparedEdits",
    "TokenProbability",
    "datasets",
    "evaluate",
    "load_editor",
    "load_editors",
    "load_model",
    "prepare_edits",
    "train",
]
