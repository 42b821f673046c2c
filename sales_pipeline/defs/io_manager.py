"""Where asset outputs live between steps: the pipeline store's ``asset_frame`` table.

Dagster's default IO manager pickles outputs to the local filesystem, which a step launched in
another process is fine with but a step on another machine (Kubernetes, Celery) is not. This one
keeps each asset partition's DataFrame in the same database as the pipeline's other state:
a SQLite file locally, PostgreSQL in production, so every worker reads what the previous step
wrote with no shared filesystem or object store to run.

Frames are pickled and compressed. Pickle restores every pandas dtype exactly (tz-aware
timestamps, nullable columns, lists in cells), and the payloads are read only from the
project's own database, written only by this IO manager. Frames are pickled straight into the
compressor and unpickled straight out of the decompressor, so only the compressed bytes and the
frame are ever held, never the whole uncompressed pickle beside them.

Text columns are pandas' ``str`` dtype, which is Arrow-backed (pyarrow is a dependency for
this): a column is one buffer of UTF-8 bytes and one of offsets, about its characters plus 8
bytes a cell, where a Python string object costs some 50 bytes of header per cell before its
characters. Pickle writes those buffers as they are, and the next step loads them as they are.
Repeated values (countries, statuses, campaign ids) compress away in the payload.
"""

import io
import pickle
import resource
import sys
import zlib

import pandas as pd
from dagster import ConfigurableIOManager, InputContext, OutputContext, ResourceDependency

from sales_pipeline.defs.resources import PipelineStoreResource
from sales_pipeline.store.tables import UNPARTITIONED

COMPRESSION_LEVEL = 3
READ_CHUNK = 1 << 20
"""Compressed bytes inflated at a time while loading."""


class _Compressor(io.RawIOBase):
    """A write-only file that compresses what is written to it into ``parts``."""

    def __init__(self) -> None:
        self._zlib = zlib.compressobj(COMPRESSION_LEVEL)
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | pickle.PickleBuffer) -> int:  # type: ignore[override]
        view = memoryview(data)
        self.parts.append(self._zlib.compress(view))
        return view.nbytes

    def finish(self) -> bytes:
        """All the compressed bytes."""
        self.parts.append(self._zlib.flush())
        return b"".join(self.parts)


class _Decompressor(io.RawIOBase):
    """A read-only file of what the zlib stream ``payload`` inflates to."""

    def __init__(self, payload: bytes) -> None:
        self._zlib = zlib.decompressobj()
        self._payload = memoryview(payload)
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        out = b""
        while not out and not self._zlib.eof:
            pending: bytes | memoryview = self._zlib.unconsumed_tail
            if not pending:
                pending = self._payload[self._offset : self._offset + READ_CHUNK]
                self._offset += len(pending)
                if not pending:
                    break
            out = self._zlib.decompress(pending, len(buffer))
        buffer[: len(out)] = out
        return len(out)


def encode_frame(frame: pd.DataFrame) -> bytes:
    """A DataFrame as the bytes kept in ``asset_frame`` (a zlib stream of its pickle)."""
    sink = _Compressor()
    pickle.Pickler(sink, protocol=pickle.HIGHEST_PROTOCOL).dump(frame)
    return sink.finish()


def decode_frame(payload: bytes) -> pd.DataFrame:
    """The DataFrame :func:`encode_frame` stored (only ever read from the project's database)."""
    source = io.BufferedReader(_Decompressor(payload), READ_CHUNK)
    frame: pd.DataFrame = pickle.Unpickler(source).load()  # noqa: S301
    return frame


def peak_rss_mib() -> float:
    """This process's peak resident memory in MiB (``ru_maxrss`` is KiB on Linux, bytes on
    macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _partition(context: InputContext | OutputContext) -> str:
    if not context.has_asset_partitions:
        return UNPARTITIONED
    keys = context.asset_partition_keys
    if len(keys) != 1:
        raise ValueError(
            f"{context.asset_key.to_user_string()}: one partition per step is supported, "
            f"got {len(keys)} (the assets use a one-partition-per-run backfill policy)"
        )
    return keys[0]


class StoreFrameIOManager(ConfigurableIOManager):
    """Saves and loads asset DataFrames in the pipeline store, one row per asset partition."""

    store: ResourceDependency[PipelineStoreResource]

    def handle_output(self, context: OutputContext, obj: pd.DataFrame) -> None:
        """Pickle, compress and save ``obj`` for this asset partition; record the stored size
        and the step process's peak resident memory so far (``peak_rss_mib``: the step's own
        when each step runs in its own process, as with Dagster's default executor)."""
        payload = encode_frame(obj)
        key = context.asset_key.to_user_string()
        self.store.get_store().save_frame(key, _partition(context), payload)
        context.add_output_metadata(
            {"stored_bytes": len(payload), "peak_rss_mib": round(peak_rss_mib(), 1)}
        )

    def load_input(self, context: InputContext) -> pd.DataFrame:
        """The DataFrame the upstream asset saved for this partition."""
        key = context.asset_key.to_user_string()
        partition = _partition(context)
        payload = self.store.get_store().load_frame(key, partition)
        if payload is None:
            raise FileNotFoundError(
                f"no stored output for {key} partition {partition or '(none)'}: "
                "materialize it first"
            )
        return decode_frame(payload)
