"""PyTorch, imported only by what needs it, with an error naming the install command."""

INSTALL = "pip install torch"


def require_torch(what: str):
    """The torch module, or an ImportError saying that `what` needs it and how to install it."""
    try:
        import torch
    except ImportError as error:
        raise ImportError(f"{what} is a torch.nn.Module and needs PyTorch, which is not installed: "
                          f"{INSTALL} (the CPU wheel is enough; libelmo computes the biLM itself). "
                          f"ElmoEmbedder and batch_to_ids need numpy only. ({error})") from None
    return torch


def optional_torch():
    """The torch module if it is installed, else None (never an error)."""
    try:
        import torch
    except ImportError:
        return None
    return torch
