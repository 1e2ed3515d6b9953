#!/usr/bin/env python3
"""PyIceberg peer for the `spec` benchmark of floe-bench (manifests and table metadata).

Every workload uses PyIceberg's own public code path, the one it takes itself:

* manifest decode: ``ManifestFile.fetch_manifest_entry(io, discard_deleted=False)``, which
  is what scan planning (``pyiceberg.table._open_manifest``) and ``inspect`` call per
  manifest: ``AvroFile`` with the manifest-entry read schema, the Cython binary decoder
  (``pyiceberg.avro.decoder_fast``) and sequence-number / spec-id inheritance;
* manifest encode: ``write_manifest(2, spec, schema, output_file, snapshot_id, codec)``
  with ``ManifestWriter.add`` per data file, then ``to_manifest_file()`` (the manifest-list
  entry, with partition summaries), like ``_SnapshotProducer`` does on append;
* metadata parse: ``TableMetadataUtil.parse_raw`` on the UTF-8 text, which is
  ``FromByteStream.table_metadata`` without the file read.

File IO is kept out of the timed section, as on the Floe side: the file's bytes are read
once and served from memory by a small in-memory ``FileIO``; encodes write into memory.

Two ways to run it:

* one-shot: ``pyiceberg_spec.py decode-manifest PATH --runs N`` (also ``parse-metadata
  PATH``, ``encode-manifest SRC OUT``) prints ``{"times": [seconds, ...], "cpu_times":
  [...], ...}``: wall time (``perf_counter``) and this process's on-CPU time,
  all threads (``process_time``), of each run;
* ``pyiceberg_spec.py serve``: reads one JSON request a line on stdin and answers one JSON
  line on stdout, so floe-bench can alternate Floe and PyIceberg run by run in one warm
  process. Requests: ``{"op": "decode_manifest" | "parse_metadata" | "encode_manifest" |
  "digest_manifest" | "digest_metadata" | "info", ...}`` (see ``handle``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from typing import Any

import pyiceberg
from pyiceberg.io import FileIO, InputFile, OutputFile
from pyiceberg.manifest import (
    UNASSIGNED_SEQ,
    DataFile,
    ManifestContent,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestFile,
    write_manifest,
)
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table.metadata import TableMetadataUtil

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _serve  # noqa: E402  (the shared line protocol beside this file)


class _KeepBytesIO(io.BytesIO):
    """A BytesIO that keeps its content when closed (AvroOutputFile closes its stream)."""

    value: bytes = b""

    def close(self) -> None:
        self.value = self.getvalue()
        super().close()


class MemoryInputFile(InputFile):
    """An InputFile over bytes already in memory."""

    def __init__(self, location: str, data: bytes):
        super().__init__(location)
        self._data = data

    def __len__(self) -> int:
        return len(self._data)

    def exists(self) -> bool:
        return True

    def open(self, seekable: bool = True) -> io.BytesIO:  # type: ignore[override]
        return io.BytesIO(self._data)


class MemoryOutputFile(OutputFile):
    """An OutputFile that collects what is written in memory."""

    def __init__(self, location: str):
        super().__init__(location)
        self._stream: _KeepBytesIO | None = None

    def data(self) -> bytes:
        if self._stream is None:
            return b""
        return self._stream.value if self._stream.closed else self._stream.getvalue()

    def __len__(self) -> int:
        return len(self.data())

    def exists(self) -> bool:
        return self._stream is not None

    def to_input_file(self) -> InputFile:
        return MemoryInputFile(self.location, self.data())

    def create(self, overwrite: bool = False) -> _KeepBytesIO:  # type: ignore[override]
        self._stream = _KeepBytesIO()
        return self._stream


class MemoryFileIO(FileIO):
    """A FileIO serving files whose bytes were read beforehand."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, bytes] = {}

    def load(self, path: str) -> bytes:
        if path not in self.files:
            with open(path, "rb") as f:
                self.files[path] = f.read()
        return self.files[path]

    def new_input(self, location: str) -> InputFile:
        return MemoryInputFile(location, self.files[location])

    def new_output(self, location: str) -> OutputFile:
        return MemoryOutputFile(location)

    def delete(self, location: str | InputFile | OutputFile) -> None:
        key = location if isinstance(location, str) else location.location
        self.files.pop(key, None)


FILE_IO = MemoryFileIO()


def _manifest_file(path: str, spec_id: int = 0) -> ManifestFile:
    """The manifest-list entry scan planning would hold for this manifest.

    Only the fields fetch_manifest_entry uses matter: the path, the spec id and the
    sequence number / snapshot id that ADDED entries inherit.
    """
    data = FILE_IO.load(path)
    return ManifestFile.from_args(
        manifest_path=path,
        manifest_length=len(data),
        partition_spec_id=spec_id,
        content=ManifestContent.DATA,
        sequence_number=1,
        min_sequence_number=1,
        added_snapshot_id=1,
    )


def _time(fn: Any, runs: int) -> tuple[list[float], list[float], Any]:
    """Wall times (perf_counter) and on-CPU times of this process (process_time), seconds."""
    times = []
    cpu_times = []
    result = None
    for _ in range(runs):
        result = None  # free the previous result before the clock starts
        cpu_start = time.process_time()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    return times, cpu_times, result


def decode_manifest(path: str, runs: int) -> dict[str, Any]:
    manifest = _manifest_file(path)
    times, cpu_times, entries = _time(lambda: manifest.fetch_manifest_entry(FILE_IO, discard_deleted=False), runs)
    return {"times": times, "cpu_times": cpu_times, "entries": len(entries)}


def _header_meta(path: str) -> dict[str, str]:
    from pyiceberg.avro.file import AvroFile

    with AvroFile[ManifestEntry](FILE_IO.new_input(path)) as reader:
        return dict(reader.header.meta)


def _spec_and_schema(meta: dict[str, str]) -> tuple[PartitionSpec, Schema]:
    schema = Schema.model_validate_json(meta["schema"])
    fields = [PartitionField.model_validate(f) for f in json.loads(meta["partition-spec"])]
    spec = PartitionSpec(*fields, spec_id=int(meta.get("partition-spec-id", "0")))
    return spec, schema


_ENCODE_INPUTS: dict[str, tuple[PartitionSpec, Schema, list[DataFile]]] = {}


def _encode_inputs(src: str) -> tuple[PartitionSpec, Schema, list[DataFile]]:
    """Spec, schema and data files of SRC (decoded once, outside the timed section)."""
    if src not in _ENCODE_INPUTS:
        manifest = _manifest_file(src)
        data_files = [e.data_file for e in manifest.fetch_manifest_entry(FILE_IO, discard_deleted=False)]
        spec, schema = _spec_and_schema(_header_meta(src))
        _ENCODE_INPUTS[src] = (spec, schema, data_files)
    return _ENCODE_INPUTS[src]


def encode_manifest(src: str, out: str | None, runs: int, codec: str, snapshot_id: int) -> dict[str, Any]:
    """Write the data files of SRC into a new manifest with write_manifest, RUNS times.

    The ManifestEntry wrappers are made outside the timer (Floe's side likewise gets its
    DataFile values ready beforehand); the writer, Avro encoding, compression and the
    manifest-list entry with partition summaries are inside.
    """
    spec, schema, data_files = _encode_inputs(src)
    entries = [
        ManifestEntry.from_args(
            status=ManifestEntryStatus.ADDED,
            snapshot_id=None,
            sequence_number=None,
            file_sequence_number=None,
            data_file=df,
        )
        for df in data_files
    ]
    last: dict[str, Any] = {}

    def once() -> None:
        output = MemoryOutputFile(out or "memory://manifest.avro")
        with write_manifest(
            format_version=2,
            spec=spec,
            schema=schema,
            output_file=output,
            snapshot_id=snapshot_id,
            avro_compression=codec,  # type: ignore[arg-type]
        ) as writer:
            for entry in entries:
                writer.add(entry)
        last["manifest_file"] = writer.to_manifest_file()
        last["bytes"] = output.data()

    times, cpu_times, _ = _time(once, runs)
    if out:
        with open(out, "wb") as f:
            f.write(last["bytes"])
    return {"times": times, "cpu_times": cpu_times, "entries": len(entries), "bytes": len(last["bytes"])}


def parse_metadata(path: str, runs: int) -> dict[str, Any]:
    raw = FILE_IO.load(path)
    times, cpu_times, metadata = _time(lambda: TableMetadataUtil.parse_raw(raw.decode("utf-8")), runs)
    return {"times": times, "cpu_times": cpu_times, "snapshots": len(metadata.snapshots)}


def digest_manifest(path: str) -> dict[str, Any]:
    """Content figures both sides compute on the same file, to check they read the same."""
    entries = _manifest_file(path).fetch_manifest_entry(FILE_IO, discard_deleted=False)
    d: dict[str, Any] = {
        "entries": len(entries),
        "record_count": 0,
        "file_size_in_bytes": 0,
        "column_sizes": 0,
        "value_counts": 0,
        "null_value_counts": 0,
        "nan_value_counts": 0,
        "lower_bounds_bytes": 0,
        "upper_bounds_bytes": 0,
        "split_offsets": 0,
        "path_bytes": 0,
    }
    for e in entries:
        f = e.data_file
        d["record_count"] += f.record_count
        d["file_size_in_bytes"] += f.file_size_in_bytes
        d["column_sizes"] += sum((f.column_sizes or {}).values())
        d["value_counts"] += sum((f.value_counts or {}).values())
        d["null_value_counts"] += sum((f.null_value_counts or {}).values())
        d["nan_value_counts"] += sum((f.nan_value_counts or {}).values())
        d["lower_bounds_bytes"] += sum(len(v) for v in (f.lower_bounds or {}).values())
        d["upper_bounds_bytes"] += sum(len(v) for v in (f.upper_bounds or {}).values())
        d["split_offsets"] += len(f.split_offsets or [])
        d["path_bytes"] += len(f.file_path.encode("utf-8"))
    return d


def digest_metadata(path: str) -> dict[str, Any]:
    m = TableMetadataUtil.parse_raw(FILE_IO.load(path).decode("utf-8"))
    return {
        "snapshots": len(m.snapshots),
        "snapshot_log": len(m.snapshot_log),
        "metadata_log": len(m.metadata_log),
        "current_snapshot_id": m.current_snapshot_id,
        "last_sequence_number": m.last_sequence_number,
    }


def info() -> dict[str, Any]:
    try:
        from pyiceberg.avro.decoder_fast import CythonBinaryDecoder  # noqa: F401

        decoder = "cython"
    except ModuleNotFoundError:
        decoder = "python"
    import pydantic

    return {
        "pyiceberg": pyiceberg.__version__,
        "pydantic": pydantic.__version__,
        "python": sys.version.split()[0],
        "avro_decoder": decoder,
    }


def handle(req: dict[str, Any]) -> dict[str, Any]:
    op = req["op"]
    runs = int(req.get("runs", 1))
    if op == "decode_manifest":
        return decode_manifest(req["path"], runs)
    if op == "parse_metadata":
        return parse_metadata(req["path"], runs)
    if op == "encode_manifest":
        return encode_manifest(
            req["src"], req.get("out"), runs, req.get("codec", "deflate"), int(req.get("snapshot_id", 1))
        )
    if op == "digest_manifest":
        return digest_manifest(req["path"])
    if op == "digest_metadata":
        return digest_metadata(req["path"])
    if op == "info":
        return info()
    raise ValueError(f"unknown op {op!r}")


def serve() -> None:
    _serve.serve(handle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("serve")
    sub.add_parser("info")
    p = sub.add_parser("decode-manifest")
    p.add_argument("path")
    p.add_argument("--runs", type=int, default=5)
    p = sub.add_parser("parse-metadata")
    p.add_argument("path")
    p.add_argument("--runs", type=int, default=5)
    p = sub.add_parser("encode-manifest", help="re-encode the data files of SRC into OUT")
    p.add_argument("src")
    p.add_argument("out")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--codec", default="deflate", help="null, deflate, snappy, zstandard, bzip2")
    p.add_argument("--snapshot-id", type=int, default=1)
    for name in ("digest-manifest", "digest-metadata"):
        sub.add_parser(name).add_argument("path")
    args = parser.parse_args()

    if args.cmd == "serve":
        serve()
        return
    if args.cmd == "info":
        out = info()
    elif args.cmd == "decode-manifest":
        out = decode_manifest(args.path, args.runs)
    elif args.cmd == "parse-metadata":
        out = parse_metadata(args.path, args.runs)
    elif args.cmd == "encode-manifest":
        out = encode_manifest(args.src, args.out, args.runs, args.codec, args.snapshot_id)
    elif args.cmd == "digest-manifest":
        out = digest_manifest(args.path)
    else:
        out = digest_metadata(args.path)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
