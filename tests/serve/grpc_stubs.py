"""Python stubs for the KServe v2 gRPC service, generated from src/serve/kserve_v2.proto at run
time with Debian's tools (protobuf-compiler's protoc and protobuf-compiler-grpc's
grpc_python_plugin; python3-grpc-tools' grpc_tools.protoc when that is what is installed).
Used by the gRPC tests and bench/serve_grpc_load.py.

    pb2, pb2_grpc = grpc_stubs.load(SOURCE_DIR, tmpdir)   # or None when the tools are missing
    pb2, pb2_grpc = grpc_stubs.load_or_skip(SOURCE_DIR, tmpdir)  # a test: exits 77 without them
"""
import importlib
import os
import shutil
import subprocess
import sys


def load(source_dir, out_dir):
    """Generates kserve_v2_pb2 / kserve_v2_pb2_grpc into out_dir and imports them; None without
    python3-grpcio, python3-protobuf or a protoc that can write gRPC Python stubs."""
    try:
        import grpc  # noqa: F401
        import google.protobuf  # noqa: F401
    except ImportError:
        return None
    proto_dir = os.path.join(source_dir, "src", "serve")
    args = [f"--proto_path={proto_dir}", f"--python_out={out_dir}", f"--grpc_python_out={out_dir}",
            os.path.join(proto_dir, "kserve_v2.proto")]
    protoc, plugin = shutil.which("protoc"), shutil.which("grpc_python_plugin")
    if protoc and plugin:
        command = [protoc, f"--plugin=protoc-gen-grpc_python={plugin}"] + args
    else:
        try:
            import grpc_tools  # noqa: F401
        except ImportError:
            return None
        command = [sys.executable, "-m", "grpc_tools.protoc"] + args
    subprocess.run(command, check=True)
    sys.path.insert(0, out_dir)
    return importlib.import_module("kserve_v2_pb2"), importlib.import_module("kserve_v2_pb2_grpc")


def load_or_skip(source_dir, out_dir):
    """load() for a test: without the tools, removes out_dir and exits 77 (ctest's skip)."""
    stubs = load(source_dir, out_dir)
    if stubs is None:
        print("skipped: needs python3-grpcio, python3-protobuf and protoc with grpc_python_plugin "
              "(protobuf-compiler-grpc)")
        shutil.rmtree(out_dir, ignore_errors=True)
        sys.exit(77)
    return stubs
