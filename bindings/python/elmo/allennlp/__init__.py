"""AllenNLP 0.9's ELMo APIs on libelmo: change the import, keep the script.

    from elmo.allennlp import ElmoEmbedder        # was: from allennlp.commands.elmo import ElmoEmbedder
    from elmo.allennlp import Elmo, batch_to_ids  # was: from allennlp.modules.elmo import Elmo, batch_to_ids

``ElmoEmbedder`` and ``batch_to_ids`` need numpy only. ``Elmo`` is a ``torch.nn.Module`` and
needs PyTorch; it is imported only when first named, so ``import elmo.allennlp`` never imports
torch, and without torch naming ``Elmo`` raises an ImportError saying ``pip install torch``.
"""

from ._ids import batch_to_ids
from .embedder import DEFAULT_BATCH_SIZE, DEFAULT_OPTIONS_FILE, DEFAULT_WEIGHT_FILE, ElmoEmbedder

# Elmo is left out of __all__ so that `from elmo.allennlp import *` works without torch.
__all__ = ["ElmoEmbedder", "batch_to_ids", "DEFAULT_OPTIONS_FILE", "DEFAULT_WEIGHT_FILE", "DEFAULT_BATCH_SIZE"]


def __getattr__(name):
    # Elmo subclasses torch.nn.Module, so defining it imports torch: only on first use.
    if name == "Elmo":
        from ._torch import require_torch
        require_torch("elmo.allennlp.Elmo")
        from .module import Elmo
        globals()["Elmo"] = Elmo
        return Elmo
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
