"""What a failed run records about its failure: error, type, traceback tail, and a hint when the
cause has a usual fix (out of memory: smaller batches).

Imports neither torch nor the training code (an OOM is recognised by its type name and message),
so that status tools could use it too.
"""

from __future__ import annotations

import traceback
from typing import Any

# The frames nearest the error are what a reader needs; the whole stack of a Hydra job is long.
TRACEBACK_LINES = 60


# How allocators say it: CUDA/MPS ("CUDA out of memory", "MPS backend out of memory") and
# torch's CPU allocator ("DefaultCPUAllocator: can't allocate memory" / "not enough memory").
_OOM_WORDS = ("out of memory", "can't allocate memory", "cannot allocate memory",
              "not enough memory")


def is_out_of_memory(e: BaseException) -> bool:
    """torch.OutOfMemoryError, an allocator's RuntimeError saying so, or a host MemoryError."""
    if isinstance(e, MemoryError) or type(e).__name__ == "OutOfMemoryError":
        return True
    return isinstance(e, RuntimeError) and any(w in str(e).lower() for w in _OOM_WORDS)


def traceback_tail(e: BaseException, lines: int = TRACEBACK_LINES) -> str:
    """The last `lines` lines of the exception's formatted traceback (chained causes included)."""
    text = "".join(traceback.format_exception(type(e), e, e.__traceback__)).rstrip("\n")
    all_lines = text.splitlines()
    if len(all_lines) <= lines:
        return text + "\n"
    cut = len(all_lines) - lines
    return f"... ({cut} earlier lines cut)\n" + "\n".join(all_lines[-lines:]) + "\n"


def describe(e: BaseException, train_batch_size: Any = None,
             eval_batch_size: Any = None) -> dict[str, Any]:
    """result.json fields for a run that ended with `e`: error, error_type, traceback, and
    hint (only when there is one)."""
    out: dict[str, Any] = {
        "error": f"{type(e).__name__}: {e}",
        "error_type": type(e).__name__,
        "traceback": traceback_tail(e),
    }
    if is_out_of_memory(e):
        out["hint"] = (f"out of memory: try a smaller train.batch_size (now {train_batch_size}) "
                       f"or eval.batch_size (now {eval_batch_size}); on a shared GPU, check "
                       "what else runs on it")
    return out
