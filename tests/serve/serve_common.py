"""What the serve tests share: skipping (exit 77) without what they need, the check list, `tessera
run` as the reference, the server's RSS and starting `tessera serve` on free ports. Importing it
skips the test without python3-numpy and python3-onnx, so a test imports it before numpy."""
import json
import os
import shutil
import subprocess
import sys


def skip(reason):
    """Ends the test as skipped (ctest's SKIP_RETURN_CODE 77)."""
    print("skipped: " + reason)
    sys.exit(77)


try:
    import numpy  # noqa: F401
    from onnx import TensorProto, numpy_helper
except ImportError:
    skip("needs python3-numpy and python3-onnx")


def require_programs(*names):
    """Skips the test unless every program in `names` is on PATH."""
    missing = [name for name in names if not shutil.which(name)]
    if missing:
        skip("needs " + ", ".join(missing))

failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


def finish():
    """Exits 1 when a check failed."""
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)


def tessera_run(tessera, model, inputs, workdir):
    """Outputs of `tessera run` on `inputs` (name -> array), as arrays in graph order."""
    data, out = os.path.join(workdir, "data"), os.path.join(workdir, "out")
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(data)
    args = [tessera, "run", model, "--output-dir", out]
    for i, (name, array) in enumerate(inputs.items()):
        path = os.path.join(data, f"input_{i}.pb")
        with open(path, "wb") as f:
            f.write(numpy_helper.from_array(array, name).SerializeToString())
        args += ["--input", f"{name}={path}"]
    subprocess.run(args, check=True, capture_output=True)
    results = []
    k = 0
    while os.path.exists(os.path.join(out, f"output_{k}.pb")):
        t = TensorProto()
        with open(os.path.join(out, f"output_{k}.pb"), "rb") as f:
            t.ParseFromString(f.read())
        results.append(numpy_helper.to_array(t))
        k += 1
    return results


def add_digits(source, repo, config=None):
    """Puts the bundled digits model in `repo` as digits/1/model.onnx (with `config` as its
    config.json when given); returns the bundled model's path, the `tessera run` reference."""
    model = os.path.join(source, "models", "digits", "model.onnx")
    os.makedirs(os.path.join(repo, "digits", "1"))
    shutil.copy(model, os.path.join(repo, "digits", "1", "model.onnx"))
    if config is not None:
        with open(os.path.join(repo, "digits", "config.json"), "w") as f:
            json.dump(config, f)
    return model


def access_log_entries(path):
    """The JSON access-log lines of a server's stderr log (other lines are skipped)."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.startswith("{")]


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start_server(tessera, repo, log, extra=()):
    """Starts `tessera serve` on a free HTTP port (and gRPC when `extra` has --grpc-port 0);
    returns (process, http_port, grpc_port or None)."""
    proc = subprocess.Popen([tessera, "serve", "--model-repository", repo, "--http-port", "0", "--host", "127.0.0.1",
                             "--threads", "1", "--max-body-bytes", "4000000", *extra],
                            stdout=subprocess.PIPE, stderr=log, text=True)
    line = proc.stdout.readline()
    if "HTTP on" not in line:
        print("server did not start: " + line)
        sys.exit(1)
    http_port = int(line.split("HTTP on ")[1].split(",")[0].rsplit(":", 1)[1])
    grpc_port = int(line.split("gRPC on ")[1].split(",")[0].rsplit(":", 1)[1]) if "gRPC on" in line else None
    return proc, http_port, grpc_port
