#!/usr/bin/env python3
"""Check Quiver's Milvus-compatible .proto files against the descriptors pymilvus ships.

Usage:
    python crates/quiver-api/tests/proto_check.py crates/quiver-api/proto

Requirements (Python 3.11):
    pip install pymilvus==3.0.2 grpcio-tools==1.85.1

Our common.proto, schema.proto and milvus.proto are compiled with grpc_tools.protoc into
a FileDescriptorSet. pymilvus's generated modules (pymilvus.grpc_gen.*_pb2) carry Milvus's
own FileDescriptorProtos. For every message, enum and service that we declare, this script
asserts that Milvus has the same full name and that:

  * every field we declare has Milvus's number, name, type, type_name, label, oneof
    membership (oneof name) and proto3 `optional` flag;
  * every enum value we declare has Milvus's number;
  * every RPC we declare exists with the same input and output types and streaming flags.

Omitting fields, enum values, messages or RPCs is allowed (we declare only what Quiver
serves); omitted enum values are listed for information. On success it prints one summary
line and exits 0; otherwise it lists every mismatch and exits 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass, field

from google.protobuf import descriptor_pb2

FDP = descriptor_pb2.FieldDescriptorProto
TYPE_NAMES = {number: name for name, number in FDP.Type.items()}
LABEL_NAMES = {number: name for name, number in FDP.Label.items()}

OUR_FILES = ("common.proto", "schema.proto", "milvus.proto")
PYMILVUS_MODULES = ("common_pb2", "schema_pb2", "milvus_pb2", "rg_pb2", "feder_pb2", "msg_pb2")


@dataclass
class Index:
    """Messages, enums and services of a set of files, keyed by full name (no leading dot)."""

    messages: dict[str, descriptor_pb2.DescriptorProto] = field(default_factory=dict)
    enums: dict[str, descriptor_pb2.EnumDescriptorProto] = field(default_factory=dict)
    services: dict[str, descriptor_pb2.ServiceDescriptorProto] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)

    def add_file(self, fdp: descriptor_pb2.FileDescriptorProto) -> None:
        prefix = fdp.package + "." if fdp.package else ""
        for enum in fdp.enum_type:
            self._add_enum(prefix + enum.name, enum, fdp.name)
        for msg in fdp.message_type:
            self._add_message(prefix + msg.name, msg, fdp.name)
        for svc in fdp.service:
            self.services[prefix + svc.name] = svc
            self.origin[prefix + svc.name] = fdp.name

    def _add_enum(self, name: str, enum: descriptor_pb2.EnumDescriptorProto, file: str) -> None:
        self.enums[name] = enum
        self.origin[name] = file

    def _add_message(self, name: str, msg: descriptor_pb2.DescriptorProto, file: str) -> None:
        self.messages[name] = msg
        self.origin[name] = file
        for enum in msg.enum_type:
            self._add_enum(name + "." + enum.name, enum, file)
        for nested in msg.nested_type:
            self._add_message(name + "." + nested.name, nested, file)


def compile_ours(proto_dir: str) -> list[descriptor_pb2.FileDescriptorProto]:
    """Compile our three files with grpc_tools.protoc; return their FileDescriptorProtos."""
    from grpc_tools import protoc  # imported late so a missing package gives a clear error

    try:
        from importlib.resources import files as resource_files

        well_known = str(resource_files("grpc_tools") / "_proto")
    except Exception:  # pragma: no cover - older importlib
        import grpc_tools

        well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")

    for name in OUR_FILES:
        if not os.path.isfile(os.path.join(proto_dir, name)):
            raise SystemExit(f"proto_check: {name} not found in {proto_dir}")

    with tempfile.TemporaryDirectory(prefix="quiver-proto-check-") as tmp:
        out = os.path.join(tmp, "quiver.fds")
        args = [
            "grpc_tools.protoc",
            f"--proto_path={proto_dir}",
            f"--proto_path={well_known}",
            f"--descriptor_set_out={out}",
            "--include_imports",
            *OUR_FILES,
        ]
        status = protoc.main(args)
        if status != 0:
            raise SystemExit(f"proto_check: protoc failed on {proto_dir} (exit {status})")
        with open(out, "rb") as fh:
            fds = descriptor_pb2.FileDescriptorSet.FromString(fh.read())
    return [f for f in fds.file if f.name in OUR_FILES]


def load_milvus() -> tuple[Index, str]:
    """Index the FileDescriptorProtos pymilvus was generated from."""
    import importlib

    import pymilvus

    index = Index()
    for module_name in PYMILVUS_MODULES:
        module = importlib.import_module(f"pymilvus.grpc_gen.{module_name}")
        index.add_file(descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb))
    return index, getattr(pymilvus, "__version__", "?")


def oneof_of(msg: descriptor_pb2.DescriptorProto, fld: descriptor_pb2.FieldDescriptorProto) -> str | None:
    if not fld.HasField("oneof_index"):
        return None
    return msg.oneof_decl[fld.oneof_index].name


def describe_type(fld: descriptor_pb2.FieldDescriptorProto) -> str:
    kind = TYPE_NAMES.get(fld.type, str(fld.type))
    return f"{kind} {fld.type_name}" if fld.type_name else kind


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    messages: int = 0
    fields: int = 0
    enums: int = 0
    enum_values: int = 0
    services: int = 0
    rpcs: int = 0


def check_message(name: str, ours: descriptor_pb2.DescriptorProto, theirs: Index, rep: Report) -> None:
    rep.messages += 1
    milvus = theirs.messages.get(name)
    if milvus is None:
        rep.problems.append(f"message {name}: not in Milvus")
        return
    if ours.options.map_entry != milvus.options.map_entry:
        rep.problems.append(f"message {name}: map_entry {ours.options.map_entry} != Milvus {milvus.options.map_entry}")
    by_number = {f.number: f for f in milvus.field}
    by_name = {f.name: f for f in milvus.field}
    for fld in ours.field:
        rep.fields += 1
        where = f"field {name}.{fld.name} = {fld.number}"
        mf = by_number.get(fld.number)
        if mf is None:
            hint = f" (Milvus has {fld.name} = {by_name[fld.name].number})" if fld.name in by_name else ""
            rep.problems.append(f"{where}: Milvus has no field number {fld.number}{hint}")
            continue
        if mf.name != fld.name:
            rep.problems.append(f"{where}: Milvus names number {fld.number} '{mf.name}'")
        if mf.type != fld.type or mf.type_name != fld.type_name:
            rep.problems.append(f"{where}: type {describe_type(fld)} != Milvus {describe_type(mf)}")
        if mf.label != fld.label:
            rep.problems.append(
                f"{where}: label {LABEL_NAMES[fld.label]} != Milvus {LABEL_NAMES[mf.label]}"
            )
        if mf.proto3_optional != fld.proto3_optional:
            rep.problems.append(
                f"{where}: proto3 optional {fld.proto3_optional} != Milvus {mf.proto3_optional}"
            )
        our_oneof, their_oneof = oneof_of(ours, fld), oneof_of(milvus, mf)
        if our_oneof != their_oneof:
            rep.problems.append(f"{where}: oneof {our_oneof!r} != Milvus {their_oneof!r}")


def check_enum(name: str, ours: descriptor_pb2.EnumDescriptorProto, theirs: Index, rep: Report) -> None:
    rep.enums += 1
    milvus = theirs.enums.get(name)
    if milvus is None:
        rep.problems.append(f"enum {name}: not in Milvus")
        return
    their_values = {v.name: v.number for v in milvus.value}
    for value in ours.value:
        rep.enum_values += 1
        if value.name not in their_values:
            rep.problems.append(f"enum value {name}.{value.name} = {value.number}: not in Milvus")
        elif their_values[value.name] != value.number:
            rep.problems.append(
                f"enum value {name}.{value.name} = {value.number}: Milvus has {their_values[value.name]}"
            )
    omitted = sorted(set(their_values) - {v.name for v in ours.value})
    if omitted:
        rep.notes.append(f"enum {name} omits {len(omitted)} Milvus value(s): {', '.join(omitted)}")


def check_service(name: str, ours: descriptor_pb2.ServiceDescriptorProto, theirs: Index, rep: Report) -> None:
    rep.services += 1
    milvus = theirs.services.get(name)
    if milvus is None:
        rep.problems.append(f"service {name}: not in Milvus")
        return
    their_methods = {m.name: m for m in milvus.method}
    for method in ours.method:
        rep.rpcs += 1
        where = f"rpc {name}/{method.name}"
        mm = their_methods.get(method.name)
        if mm is None:
            rep.problems.append(f"{where}: not in Milvus")
            continue
        for attr in ("input_type", "output_type", "client_streaming", "server_streaming"):
            if getattr(method, attr) != getattr(mm, attr):
                rep.problems.append(f"{where}: {attr} {getattr(method, attr)!r} != Milvus {getattr(mm, attr)!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("proto_dir", help="directory holding common.proto, schema.proto and milvus.proto")
    parser.add_argument("-v", "--verbose", action="store_true", help="also list omitted enum values")
    args = parser.parse_args()

    ours_files = compile_ours(args.proto_dir)
    theirs, pymilvus_version = load_milvus()
    rep = Report()

    for fdp in ours_files:
        if fdp.syntax != "proto3":
            rep.problems.append(f"file {fdp.name}: syntax {fdp.syntax or 'proto2'!r}, expected proto3")
        ours = Index()
        ours.add_file(fdp)
        for name, msg in ours.messages.items():
            check_message(name, msg, theirs, rep)
            if name in theirs.origin and theirs.origin[name] != fdp.name:
                rep.problems.append(f"message {name}: declared in {fdp.name}, Milvus has it in {theirs.origin[name]}")
        for name, enum in ours.enums.items():
            check_enum(name, enum, theirs, rep)
            if name in theirs.origin and theirs.origin[name] != fdp.name:
                rep.problems.append(f"enum {name}: declared in {fdp.name}, Milvus has it in {theirs.origin[name]}")
        for name, svc in ours.services.items():
            check_service(name, svc, theirs, rep)

    if args.verbose:
        for note in rep.notes:
            print(f"note: {note}")
    summary = (
        f"proto_check vs pymilvus {pymilvus_version}: {rep.messages} messages, {rep.fields} fields, "
        f"{rep.enums} enums ({rep.enum_values} values), {rep.services} service(s), {rep.rpcs} RPCs checked"
    )
    if rep.problems:
        print(f"{summary}: {len(rep.problems)} mismatch(es)", file=sys.stderr)
        for problem in rep.problems:
            print(f"  MISMATCH {problem}", file=sys.stderr)
        return 1
    print(f"{summary}: all match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
