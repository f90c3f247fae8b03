"""What the wrappers around one :class:`elmo.Model` (``Elmo2Vec``, ``elmo.hub.Module``,
``elmo.allennlp.ElmoEmbedder``) share: ``close()`` releases the model, and ``with`` closes
on exit."""

from __future__ import annotations

from typing import TypeVar

_Self = TypeVar("_Self", bound="ModelOwner")


class ModelOwner:
    """A wrapper owning ``self.model``; a context manager that closes it on exit."""

    def close(self) -> None:
        """Releases the model."""
        self.model.close()  # type: ignore[attr-defined]

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
