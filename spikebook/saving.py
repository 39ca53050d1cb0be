"""Checkpoint files: atomic writes of plain data, and the one loader that never runs code from a file.

A pickle can carry an object whose ``__reduce__`` runs code when it is read, so a checkpoint here holds
plain data only (dicts, lists, tuples, strings, numbers, ``None`` and tensors; configurations as
``dataclasses.asdict`` dictionaries, histories as lists) and is read with ``torch.load(weights_only=True)``,
which refuses anything else before constructing it. :func:`save_atomic` checks that rule when writing, so a
run cannot save what :func:`load_checkpoint` would refuse; :func:`load_checkpoint` is what every loader of
the package calls.

Taught in: not a chapter of its own; used by :mod:`spikebook.training`, :mod:`spikebook.pretrained`,
:mod:`spikebook.training.supervised` and the experiments.
"""

from __future__ import annotations

import collections
import contextlib
import os
import pickle
import re
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from spikebook.validate import non_negative_int

__all__ = [
    "CheckpointError", "check_plain", "check_writable", "checkpoint_name", "load_checkpoint", "replacing",
    "save_atomic",
]

#: Types a checkpoint may hold: what ``torch.load(weights_only=True)`` rebuilds without running code.
#: Exact types: a subclass (a NamedTuple, a NumPy scalar, an enum) is pickled by reference to its class.
_LEAVES = (type(None), bool, int, float, str, bytes, torch.Size, torch.dtype, torch.device)
_TENSORS = (torch.Tensor, torch.nn.Parameter)


class CheckpointError(ValueError):
    """A file that cannot be read as a checkpoint: not one, truncated or corrupt, or holding non-plain data.

    A ``ValueError``, so that callers that validate their inputs catch it with the rest.
    """


def check_plain(obj: Any, where: str = "checkpoint") -> None:
    """Raise ``TypeError`` naming a value of ``obj`` that is not plain checkpoint data, if there is one.

    Plain: ``None``, bool, int, float, str, bytes, tensors, ``torch.Size``/``dtype``/``device``, and dicts,
    lists and tuples of these (exact types). Anything else would be refused by :func:`load_checkpoint`.

    Args:
        obj: What is about to be saved.
        where: The name of ``obj`` in the message; keys and indices are appended
            (``checkpoint['history'][2]``).
    """
    stack, seen = [(obj, where)], set()
    while stack:
        value, at = stack.pop()
        kind = type(value)
        if kind in _LEAVES or kind in _TENSORS or id(value) in seen:  # a shared container is checked once
            continue
        seen.add(id(value))
        if kind in (dict, collections.OrderedDict):
            for key, item in value.items():
                if type(key) not in _LEAVES:
                    raise TypeError(f"{at} has a key of type {_type_name(key)}, not plain data: checkpoints "
                                    "hold dicts, lists, tuples, strings, numbers, None and tensors")
                stack.append((item, f"{at}[{key!r}]"))
        elif kind in (list, tuple):
            stack.extend((item, f"{at}[{i}]") for i, item in enumerate(value))
        else:
            if kind.__module__ == "numpy":
                hint = " (convert NumPy values with float()/int() or torch.as_tensor)"
            else:
                hint = " (store a dataclass as dataclasses.asdict(...), a NamedTuple as ._asdict())"
            raise TypeError(f"{at} is a {_type_name(value)}, not plain data{hint}: checkpoints hold dicts, "
                            "lists, tuples, strings, numbers, None and tensors, so that loading runs no code")


def _type_name(value: Any) -> str:
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _umask() -> int:
    """The process's file-creation mask (read by setting it and restoring it at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _umask()


@contextlib.contextmanager
def replacing(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary file beside ``path`` that replaces it when the block ends, and is removed if it raises.

    Its name is unique in the folder (``os.replace`` needs the same file system), so two writers never share
    one, and it gets the mode ``open`` would give (``mkstemp`` makes files private). The parent folder is
    created if needed. Every file spikebook writes for others to read — checkpoints, cached results,
    downloads — goes through here.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    partial = Path(name)
    try:
        yield partial
        os.chmod(partial, 0o666 & ~_UMASK)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Check, before a long run, that :func:`save_atomic` will be able to write ``path``; create nothing.

    A training run saves at its end (or at each evaluation); an unwritable path found only then loses the
    run. This walks up to the nearest existing folder (the missing ones :func:`replacing` would create) and
    writes and removes a temporary file there, which is what the operating system will check at save time
    (``os.access`` is not: it ignores, e.g., read-only mounts).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        IsADirectoryError: ``path`` is a folder.
        NotADirectoryError: a part of ``path`` that should be a folder is a file (both named).
        PermissionError: the folder cannot be written (named).
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"checkpoint path {path} is a folder; name a file in it")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise NotADirectoryError(f"cannot save {path}: {folder} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise PermissionError(f"cannot save {path}: {folder} is not writable ({err.strerror})") from None
    return path


def save_atomic(obj: Any, path: str | os.PathLike[str]) -> Path:
    """``torch.save(obj, path)``, written to a temporary file first and then renamed over ``path``.

    A reader (a chapter executed in parallel, a resumed run after a crash) sees the old file or the new
    one, never a half-written one. The temporary file has a unique name in the same folder (``os.replace``
    needs the same file system), so two writers never share one, whatever their targets; it is removed if
    writing fails. The parent folder is created if needed.

    Raises:
        TypeError: if ``obj`` holds anything but plain data (:func:`check_plain`); nothing is written.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    check_plain(obj)
    with replacing(path) as partial:
        torch.save(obj, partial)
    return path


def load_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device | None = "cpu") -> dict:
    """Read a checkpoint written by :func:`save_atomic` with ``torch.load(weights_only=True)``.

    Only plain data is rebuilt; a file that names any other class or function (what a pickle needs to run
    code) is refused before anything in it is constructed.

    Args:
        path: The file.
        map_location: Where the tensors go, as for :func:`torch.load`.

    Returns:
        The checkpoint dictionary.

    Raises:
        FileNotFoundError, IsADirectoryError, PermissionError: as ``open`` raises them.
        CheckpointError: naming the file, if it is not a spikebook checkpoint (e.g. a text file or not a
            dictionary), is empty, truncated or corrupt, or carries objects that are not plain data (refused,
            nothing from it executed).
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except OSError:
        raise
    except Exception as err:  # noqa: BLE001 - torch raises many kinds for a bad file; all mean the same here
        raise CheckpointError(_why_unreadable(path, err)) from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} is not a spikebook checkpoint: it holds a {_type_name(state)}, "
                              "not a dict")
    return state


def _why_unreadable(path: Path, err: Exception) -> str:
    """The message of :class:`CheckpointError` for a file ``torch.load(weights_only=True)`` failed on."""
    text = str(err)
    refused = re.search(r"GLOBAL ([\w.]+)|safe_globals\(\[([\w.]+)\]\)", text)
    if isinstance(err, pickle.UnpicklingError) and refused:
        name = refused.group(1) or refused.group(2)
        return (f"{path} carries objects that are not plain data ({name}); it was refused and nothing in it "
                "was executed. Spikebook checkpoints hold only dicts, lists, tuples, strings, numbers, None "
                "and tensors")
    if path.stat().st_size == 0:
        return f"{path} is empty: not a spikebook checkpoint (an interrupted copy?)"
    with path.open("rb") as file:
        zipped = file.read(4) == b"PK\x03\x04"
    if zipped and zipfile.is_zipfile(path):
        return (f"{path} is not a spikebook checkpoint (a zip archive torch.save did not write), "
                "or it is corrupt")
    if zipped or isinstance(err, EOFError):
        return f"{path} is truncated or corrupt: not a readable spikebook checkpoint; copy or make it again"
    # the unpickler's own message for a non-pickle (a text file) advises weights_only=False: not repeated
    unpickler = isinstance(err, pickle.UnpicklingError)
    said = "" if unpickler or not text else f" ({type(err).__name__}: {text[:200]})"
    return f"{path} is not a spikebook checkpoint (not a file written by torch.save), or it is corrupt{said}"


def checkpoint_name(stem: str, quick: bool = False, seed: int = 0) -> str:
    """The file name of a trained run: ``stem.pt`` for the shipped run (seed 0, full mode).

    Other training seeds and quick (toy) runs get their own names, ``stem-seed3.pt``, ``stem-quick.pt``,
    ``stem-seed3-quick.pt``, so that training them never overwrites the shipped checkpoint.
    """
    seed = non_negative_int(seed, "seed")
    return f"{stem}{f'-seed{seed}' if seed else ''}{'-quick' if quick else ''}.pt"
