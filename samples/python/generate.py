"""Generates the Python stubs for Platform's services from ../../protos into ./generated (git-ignored).

    python3 generate.py

The first compiler that can do it wins:
  1. grpc_tools.protoc (pip: grpcio-tools; Debian: python3-grpc-tools), with its bundled well-known
     protos (google/protobuf/duration.proto, timestamp.proto) on the include path;
  2. protoc with grpc_python_plugin from PATH (Debian: protobuf-compiler protobuf-compiler-grpc).
Debian 12's python3-grpc-tools bundles protoc 3.5, which predates proto3 `optional` (ratelimit.proto
uses it), so on Debian 12 the second is the one that works.

Exit status: 0 generated; 2 grpcio or a compiler that can do it is missing here (the message says
what to install); 1 anything else.
"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROTOS = os.path.normpath(os.path.join(HERE, "..", "..", "protos"))
GENERATED = os.path.join(HERE, "generated")
# google/api (vendored in protos/) carries the HTTP/JSON route options the service protos import; its
# Python module lands in generated/google/api, beside the installed google.protobuf (a namespace package).
FILES = ["ratelimit.proto", "cache.proto", "audioqueue.proto", "google/api/http.proto", "google/api/annotations.proto"]


class MissingTools(Exception):
    """What this machine lacks to generate the stubs, and how to install it."""


def well_known_protos():
    """grpc_tools' copy of google/protobuf/*.proto, when grpc_tools is installed."""
    try:
        import grpc_tools
    except ImportError:
        return []
    path = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    return [path] if os.path.isdir(path) else []


def compilers():
    """(name, command prefix) of each compiler found here, best first."""
    found = []
    try:
        import grpc_tools.protoc  # noqa: F401
        found.append(("grpc_tools.protoc", [sys.executable, "-m", "grpc_tools.protoc"]))
    except ImportError:
        pass
    protoc, plugin = shutil.which("protoc"), shutil.which("grpc_python_plugin")
    if protoc and plugin:
        found.append(("protoc + grpc_python_plugin", [protoc, "--plugin=protoc-gen-grpc_python=" + plugin]))
    return found


def generate(out=GENERATED):
    """Writes the stubs into `out` and says how; raises MissingTools when this machine cannot."""
    try:
        import grpc  # noqa: F401
        import google.protobuf  # noqa: F401
    except ImportError as e:
        raise MissingTools(f"no grpcio here ({e}): pip install grpcio, or apt-get install python3-grpcio")
    found = compilers()
    if not found:
        raise MissingTools("no protobuf compiler here: pip install grpcio-tools, "
                                        "or apt-get install protobuf-compiler protobuf-compiler-grpc")
    includes = ["-I" + PROTOS] + ["-I" + path for path in well_known_protos()]
    errors = []
    for name, command in found:
        with tempfile.TemporaryDirectory(dir=HERE) as staging:
            result = subprocess.run(
                command + includes + ["--python_out=" + staging, "--grpc_python_out=" + staging] + FILES,
                cwd=PROTOS, capture_output=True, text=True)
            if result.returncode == 0:
                shutil.rmtree(out, ignore_errors=True)
                shutil.copytree(staging, out)
                return f"generated stubs with {name} into {os.path.relpath(out)}"
            errors.append(f"{name}: {(result.stderr or result.stdout).strip()}")
    raise MissingTools("no compiler here could compile the protos (proto3 `optional` needs protoc >= 3.15):\n  "
                           + "\n  ".join(errors)
                           + "\ninstall protobuf-compiler protobuf-compiler-grpc (apt) or a recent grpcio-tools (pip)")


def up_to_date(out=GENERATED):
    """True when stubs exist and no .proto is newer than them."""
    stamp = os.path.join(out, "ratelimit_pb2.py")
    if not os.path.exists(stamp):
        return False
    built = os.path.getmtime(stamp)
    return all(os.path.getmtime(os.path.join(PROTOS, name)) <= built for name in FILES)


if __name__ == "__main__":
    try:
        print(generate())
    except MissingTools as e:
        print(e, file=sys.stderr)
        sys.exit(2)
