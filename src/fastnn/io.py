"""The file format: ``save``, ``load`` and ``load_checkpoint``, a NumPy
``.npz`` archive read without pickle."""

from __future__ import annotations

import errno
import io
import json
import os
import zipfile
from typing import Any, BinaryIO, Callable

import numpy as np

from .layers import layer_from_config
from .network import Sequential
from .optim import Optimizer, optimizer_from_settings

__all__ = ["save", "load", "load_checkpoint", "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "fastnn-model"
FORMAT_VERSION = 1


def save(
    net: Sequential, path: str | os.PathLike | BinaryIO, optimizer: Optimizer | None = None
) -> None:
    """Write ``net`` (and, given, the optimizer's state for it) to ``path``:
    ``Sequential.save``, which documents the names, file objects and errors."""
    arrays = dict(
        format=np.array(FORMAT_NAME),
        version=np.array(FORMAT_VERSION),
        config=np.array(json.dumps(net.config())),
        params=net.params,
        rng_state=net._rng_state,
    )
    if optimizer is not None:
        net._check_optimizer(optimizer)
        state = optimizer.state_for(net)
        arrays["optimizer"] = np.array(
            json.dumps(
                {
                    "type": type(optimizer).__name__,
                    "settings": optimizer.settings(),
                    "t": state.t,
                    "epoch": state.epoch,
                    "schedule_state": state.schedule_state,
                }
            )
        )
        arrays["optimizer_state"] = state.buffer
    _write_archive(path, arrays)


def load(path: str | os.PathLike | BinaryIO) -> Sequential:
    """Read a network written by ``Sequential.save``.

    Parameters
    ----------
    path : str, os.PathLike or binary file object
        The name given to ``save``, with or without ``.npz``: a name ending
        in ``.npz`` is read as given, any other name with ``.npz`` appended,
        the file ``save`` wrote under it (``"model.bin"`` reads
        ``model.bin.npz``). Only if that file does not exist is a file named
        exactly ``path`` read. A file object open for binary reading
        (``open(..., "rb")``, ``io.BytesIO``) is read from its current
        position to its end; on success it is left at its end, on failure
        where it was.

    Returns
    -------
    Sequential
        The network, predicting bit for bit as the saved one. A checkpoint
        is also a model file: its optimizer is ignored here (see
        ``load_checkpoint``).

    Raises
    ------
    FileNotFoundError
        Neither the name ``save`` writes nor ``path`` itself is a file.
    TypeError
        ``path`` is neither a path nor a file object, or the file object is
        in text mode.
    ValueError
        ``path`` names a directory; the file object is closed or not open for
        reading; the file is empty, not an ``.npz`` archive (e.g. a pickle or
        a single ``.npy`` array), not written by fastnn, truncated, of another
        format version or holding object arrays.
    OSError
        The file exists but cannot be opened (e.g. ``PermissionError``).

    Notes
    -----
    The file is a NumPy ``.npz`` archive read with ``allow_pickle=False``:

    - ``format``: the string ``"fastnn-model"``
    - ``version``: the integer format version (currently 1)
    - ``config``: a JSON string: ``{"layers": [{"type": "Dense", "n_in": ..,
      "n_out": .., "activation": ..}, ...], "loss": .., "dtype": .., "seed": ..}``
      (a network on images also ``"input_shape": [c, h, w]`` once known)
    - ``params``: the flat parameter buffer, in the network's dtype
    - ``rng_state``: four uint64 words of the shuffling stream
    - in a checkpoint (``save(path, optimizer=opt)``) also ``optimizer``, a
      JSON string ``{"type": "SGD", "settings": {...}, "t": steps,
      "epoch": epochs, "schedule_state": {...}}``, and ``optimizer_state``,
      the optimizer's buffers in the network's dtype

    Nothing in the file is executed.
    """
    return _read_arrays(path, _from_arrays)


def load_checkpoint(path: str | os.PathLike | BinaryIO) -> tuple[Sequential, Optimizer]:
    """Read a checkpoint written by ``net.save(path, optimizer=opt)``.

    Parameters
    ----------
    path : str, os.PathLike or binary file object
        As for ``fastnn.load``: the name given to ``save``, with or without
        ``.npz``, or a file object open for binary reading.

    Returns
    -------
    net : Sequential
        The network, predicting bit for bit as the saved one.
    optimizer : Optimizer
        An optimizer carrying its state for ``net``, so that
        ``net.fit(..., optimizer=optimizer)`` continues exactly as if
        training had not stopped.

    Raises
    ------
    FileNotFoundError, TypeError, ValueError, OSError
        As for ``fastnn.load``; also ``ValueError`` for a model file saved
        without an optimizer (read it with ``fastnn.load``) and for a bad
        optimizer description or state.
    """
    return _read_arrays(path, _checkpoint_from_arrays)


def _checkpoint_from_arrays(arrays: dict, where: str) -> tuple[Sequential, Optimizer]:
    net = _from_arrays(arrays, where)
    if "optimizer" not in arrays or "optimizer_state" not in arrays:
        raise ValueError(
            f"{where} holds a network but no optimizer, so it is a model file, "
            "not a checkpoint: read it with fastnn.load(path), or save a "
            "checkpoint with net.save(path, optimizer=opt)"
        )
    try:
        info = json.loads(str(arrays["optimizer"]))
        optimizer = optimizer_from_settings(info["type"], info["settings"])
        t, epoch = info["t"], info["epoch"]
        schedule_state = info["schedule_state"]
        if (
            isinstance(t, bool)
            or not isinstance(t, int)
            or t < 0
            or isinstance(epoch, bool)
            or not isinstance(epoch, int)
            or epoch < 0
            or not isinstance(schedule_state, dict)
        ):
            raise ValueError("bad step or epoch count")
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(
            f"{where} is not a valid fastnn checkpoint: bad optimizer description ({exc})"
        ) from None
    state = optimizer.state_for(net)
    buffer = arrays["optimizer_state"]
    if buffer.dtype != net.dtype or buffer.shape != state.buffer.shape:
        raise ValueError(
            f"{where} is not a valid fastnn checkpoint: the optimizer state "
            f"has dtype {buffer.dtype} and shape {buffer.shape}, expected "
            f"{net.dtype} and {state.buffer.shape}"
        )
    if not np.isfinite(buffer).all():
        raise ValueError(
            f"{where} is not a valid fastnn checkpoint: the optimizer state "
            "contains NaN or infinity"
        )
    state.buffer[...] = buffer
    state.t, state.epoch, state.schedule_state = t, epoch, dict(schedule_state)
    return net, optimizer


_SUFFIX = ".npz"  # what numpy.savez appends to a name without it
_NPY_MAGIC = b"\x93NUMPY"  # the start of a single array written by numpy.save


def _is_file_object(path: Any) -> bool:
    return not isinstance(path, (str, bytes, os.PathLike)) and (
        hasattr(path, "read") or hasattr(path, "write")
    )


def _describe(f: Any) -> str:
    """How messages name a file object."""
    name = getattr(f, "name", None)
    if isinstance(name, (str, bytes)):
        return f"the file object {os.fsdecode(name)!r}"
    return f"the {type(f).__name__} object"


def _file_name(path: Any, caller: str) -> str:
    """The file that ``save(path)`` writes and ``load(path)`` reads: ``path`` when it
    ends in ``.npz``, else ``path + ".npz"``, the name ``numpy.savez`` gives it."""
    try:
        name = os.fsdecode(os.fspath(path))
    except TypeError:
        raise TypeError(
            f"{caller} takes a file name (str or os.PathLike) or a binary file "
            f"object, got {type(path).__name__}"
        ) from None
    if not name:
        raise ValueError(f"{caller} needs a file name, got an empty path")
    if name.endswith((os.sep, os.altsep or os.sep)) or os.path.basename(name) in (".", ".."):
        raise ValueError(
            f"{name!r} names a directory, not a file: give {caller} a file "
            f"name such as {os.path.join(name, 'model.npz')!r}"
        )
    return name if name.endswith(_SUFFIX) else name + _SUFFIX


def _check_stream(f: Any, mode: str, where: str) -> None:
    """Refuse a file object that cannot be read (mode "read") or written ("write") in
    binary mode, before anything is read from or written to it."""
    opener = "rb" if mode == "read" else "wb"
    action = "reading" if mode == "read" else "writing"
    unable = f"{where} is not open for {action}: open it with {opener!r}"
    if getattr(f, "closed", False):
        raise ValueError(f"{where} is closed")
    able = getattr(f, "readable" if mode == "read" else "writable", None)
    if callable(able) and not able():
        raise ValueError(unable)
    text = isinstance(f, io.TextIOBase)
    if not text:
        try:
            if mode == "read":
                text = isinstance(f.read(0), str)
            else:
                f.write(b"")
        except TypeError:  # a text stream refusing bytes
            text = True
        except io.UnsupportedOperation:
            raise ValueError(unable) from None
    if text:
        raise TypeError(
            f"{where} is open in text mode; fastnn model files are binary: "
            f"open it with {opener!r} (or use io.BytesIO)"
        )


def _write_archive(path: Any, arrays: dict) -> None:
    """Write ``arrays`` as an ``.npz`` archive to ``path`` (a name, see ``_file_name``,
    or a binary file object) leaving no partial file behind on failure."""
    if _is_file_object(path):
        where = _describe(path)
        _check_stream(path, "write", where)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        data = buffer.getbuffer()
        while data:  # raw streams may take part of it per call
            written = path.write(data)
            if not isinstance(written, int) or written >= len(data):
                break
            if written <= 0:
                raise OSError(f"{where} accepted only part of the archive")
            data = data[written:]
        return
    name = _file_name(path, "save")
    target = os.path.realpath(name)  # through a symbolic link, as open() writes
    if os.path.isdir(target):
        raise ValueError(
            f"{name!r} is a directory, not a file: give save a file name such "
            f"as {os.path.join(name, 'model.npz')!r}"
        )
    folder, base = os.path.split(target)
    temporary = os.path.join(folder, f".{base}.{os.urandom(6).hex()}.tmp")
    try:
        fd = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
        )
    except OSError as exc:
        raise type(exc)(exc.errno, exc.strerror, name) from None
    try:
        with open(fd, "wb") as f:
            np.savez(f, **arrays)
        if os.path.exists(target):  # keep the permissions of the file replaced
            os.chmod(temporary, os.stat(target).st_mode & 0o7777)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def _read_arrays(path: Any, build: Callable[[dict, str], Any]) -> Any:
    """``build(arrays, where)`` of the archive ``path`` names (see ``_file_name``) or a
    binary file object holds, ``where`` naming it in messages. A seekable file object is
    left at its end, or, on failure, where it was."""
    if _is_file_object(path):
        where = _describe(path)
        _check_stream(path, "read", where)
        seekable = getattr(path, "seekable", None)
        start = path.tell() if callable(seekable) and seekable() else None
        try:
            source = path if start is not None else io.BytesIO(path.read())
            result = build(_parse_archive(source, where, stream=True), where)
        except BaseException:
            if start is not None:
                path.seek(start)
            raise
        if start is not None:
            path.seek(0, os.SEEK_END)
        return result
    name = _file_name(path, "load")
    if not os.path.isfile(name):
        given = os.fsdecode(os.fspath(path))
        if given != name and os.path.isfile(given):
            name = given  # a file named as given, written otherwise
        elif os.path.isdir(name):
            raise ValueError(f"{name!r} is a directory, not a fastnn model file")
        else:
            why = "No such file or directory"
            if given != name:
                why += f" (the name that save({given!r}) writes"
                why += f"; {given!r} is a directory)" if os.path.isdir(given) else ")"
            raise FileNotFoundError(errno.ENOENT, why, name)
    where = repr(name)
    with open(name, "rb") as f:
        return build(_parse_archive(f, where, stream=False), where)


def _parse_archive(source: Any, where: str, stream: bool) -> dict:
    """The arrays of the ``.npz`` archive in the seekable binary file ``source`` from its
    position on, or a ``ValueError`` naming what the file holds instead."""
    start = source.tell()
    head = source.read(len(_NPY_MAGIC))
    try:
        source.seek(start)
        if not head:
            raise ValueError(
                "nothing to read from its position (seek(0) after writing to it?)"
                if stream
                else "the file is empty"
            )
        if head.startswith(_NPY_MAGIC):
            raise ValueError(
                "it holds a single array (.npy, as numpy.save writes), not an .npz archive"
            )
        if head[:1] == b"\x80":
            raise ValueError(
                "it holds pickled Python objects, as pickle and joblib write "
                "(an estimator?): read those with pickle.load or joblib.load, "
                "and only from a source you trust"
            )
        if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):  # a zip file's start
            raise ValueError("it is not an .npz archive (a zip file of .npy arrays)")
        with np.load(source, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
        for key, value in arrays.items():
            if not isinstance(value, np.ndarray):
                raise ValueError(
                    f"it is a zip file but not an .npz archive: its member "
                    f"{key!r} is not a .npy array"
                )
    except (
        ValueError,
        OSError,
        EOFError,
        KeyError,
        RuntimeError,
        NotImplementedError,
        zipfile.BadZipFile,
    ) as exc:
        raise ValueError(f"{where} is not a readable fastnn model file: {exc}") from None
    return arrays


def _from_arrays(arrays: dict, where: str) -> Sequential:
    def fail(why: str) -> ValueError:
        return ValueError(f"{where} is not a valid fastnn model file: {why}")

    if "format" not in arrays:
        raise fail("the entry 'format' is missing: an .npz archive, but not one that fastnn wrote")
    for key in ("version", "config", "params"):
        if key not in arrays:
            raise fail(f"the entry {key!r} is missing")
    if arrays["format"].shape != () or str(arrays["format"]) != FORMAT_NAME:
        raise fail("the format tag is not 'fastnn-model'")
    version = arrays["version"]
    if version.shape != () or version.dtype.kind not in "iu":
        raise fail("the version entry is not an integer")
    if int(version) != FORMAT_VERSION:
        raise fail(
            f"format version {int(version)} is not supported "
            f"(this fastnn reads version {FORMAT_VERSION})"
        )
    try:
        config = json.loads(str(arrays["config"]))
        layers = [layer_from_config(c) for c in config["layers"]]
        net = Sequential(
            layers, loss=config["loss"], dtype=config["dtype"], seed=config.get("seed")
        )
        if config.get("input_shape") is not None:  # image networks
            net._build(config["input_shape"])
    except (ValueError, TypeError, KeyError) as exc:
        raise fail(f"bad network description ({exc})") from None
    params = arrays["params"]
    if params.dtype != net.dtype or params.shape != (net.n_params,):
        raise fail(
            f"the parameters have dtype {params.dtype} and shape {params.shape}, "
            f"expected {net.dtype} and ({net.n_params},)"
        )
    if not np.isfinite(params).all():
        raise fail("the parameters contain NaN or infinity")
    net.params[...] = params
    rng = arrays.get("rng_state")
    if rng is not None:
        if rng.dtype != np.uint64 or rng.shape != (4,):
            raise fail("the rng state is not four uint64 words")
        net._rng_state[...] = rng
    return net
