"""The container and KServe files (deploy/) against the server as built, since neither Docker nor
a cluster runs here: the Dockerfile's build stage uses CMake options, a target and a binary path
the tree has; every flag they pass is one `tessera serve --help` lists; the ports agree
between the Dockerfile (ENTRYPOINT, EXPOSE), the ServingRuntime (args, containerPorts) and the
InferenceServices (HTTP, gRPC as h2c); the probes are the v2 health endpoints on the HTTP port;
the model repository is KServe's storage mount; the InferenceServices name the runtime, a model
format and a protocol it declares. Then `tessera serve` runs with the ServingRuntime's own args
(the repository swapped for a temporary one laid out as docs/serving.md says, free ports instead
of 8080/8081) and every probe path answers 200, and the libraries the binary links come from the
packages the Dockerfile's runtime stage installs.
Usage: deploy_files_test.py TESSERA SOURCE_DIR. Exits 77 (skipped) without python3-yaml."""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

TESSERA, SOURCE = sys.argv[1], sys.argv[2]
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import serve_common  # noqa: E402  (first: it skips the test without numpy and onnx)
from serve_common import check, finish  # noqa: E402

try:
    import yaml
except ImportError:
    serve_common.skip("needs python3-yaml")

DEPLOY = os.path.join(SOURCE, "deploy")
STORAGE_MOUNT = "/mnt/models"  # where KServe's storage initializer puts the storageUri


def load_yaml(name):
    with open(os.path.join(DEPLOY, "kserve", name)) as f:
        return yaml.safe_load(f)


def flag_values(args):
    """{--flag: value or True} from an argument list (flags with a value take the next word)."""
    values, i = {}, 0
    while i < len(args):
        if args[i].startswith("--"):
            if i + 1 < len(args) and not args[i + 1].startswith("--"):
                values[args[i]] = args[i + 1]
                i += 2
                continue
            values[args[i]] = True
        i += 1
    return values


def dockerfile():
    """(ENTRYPOINT list, EXPOSE ports, runtime stage's apt packages, COPY destinations), after
    checking the build stage against the source tree."""
    with open(os.path.join(DEPLOY, "Dockerfile")) as f:
        text = re.sub(r"\\\n", " ", f.read())
    stages = re.split(r"^FROM ", text, flags=re.M)
    build, runtime = stages[-2], stages[-1]  # the build stage, the image's stage
    with open(os.path.join(SOURCE, "CMakeLists.txt")) as f:
        options = set(re.findall(r"^option\((\w+)", f.read(), re.M))
    cache = set(re.findall(r"-D(\w+)=", build)) - {"CMAKE_BUILD_TYPE"}
    check(cache <= options, f"Dockerfile build stage: -D{sorted(cache)} are options of CMakeLists.txt")
    with open(os.path.join(SOURCE, "tools", "CMakeLists.txt")) as f:
        cli = f.read()
    target = re.search(r"--target (\S+)", build).group(1)
    copied = re.search(r"^COPY --from=build (\S+) ", runtime, re.M).group(1)
    output = re.search(r"set_target_properties\(" + re.escape(target) + r" PROPERTIES[^)]*OUTPUT_NAME (\S+)", cli)
    check(f"add_executable({target} " in cli and output and copied == "/src/build/" + output.group(1)
          and os.path.basename(TESSERA) == output.group(1),
          f"Dockerfile builds --target {target} and copies its binary from build/: {copied}")
    check(os.access(os.path.join(SOURCE, "scripts", "install_deps.sh"), os.X_OK) and "install_deps.sh" in build,
          "Dockerfile build stage installs the build's packages with scripts/install_deps.sh")
    entrypoint = yaml.safe_load(re.search(r"^ENTRYPOINT (\[.*\])$", runtime, re.M).group(1))
    exposed = {int(p) for line in re.findall(r"^EXPOSE (.*)$", runtime, re.M) for p in line.split()}
    packages = set()
    for command in re.findall(r"apt-get install ([^&]*)", runtime):
        packages |= {w for w in shlex.split(command) if not w.startswith("-")}
    copies = re.findall(r"^COPY .* (\S+)$", runtime, re.M)
    return entrypoint, exposed, packages, copies


def main():
    help_text = subprocess.run([TESSERA, "serve", "--help"], capture_output=True, text=True).stdout
    accepted = set(re.findall(r"(--[a-z][a-z-]*)", help_text))
    check("--model-repository" in accepted and "--grpc-port" in accepted, f"tessera serve --help lists its flags: {sorted(accepted)}")

    entrypoint, exposed, packages, copies = dockerfile()
    check(entrypoint[0] in copies and entrypoint[1] == "serve", f"Dockerfile ENTRYPOINT runs the copied binary's serve: {entrypoint}")
    docker_flags = flag_values(entrypoint[2:])
    check(set(docker_flags) <= accepted, f"Dockerfile flags are tessera serve's: {sorted(set(docker_flags) - accepted)} unknown")
    http_port, grpc_port = int(docker_flags["--http-port"]), int(docker_flags["--grpc-port"])
    check(exposed == {http_port, grpc_port}, f"Dockerfile EXPOSE {sorted(exposed)} = its HTTP and gRPC ports")
    check(docker_flags["--model-repository"] == STORAGE_MOUNT, "Dockerfile serves the storage mount " + STORAGE_MOUNT)

    runtime = load_yaml("servingruntime.yaml")
    container = runtime["spec"]["containers"][0]
    args = container["args"]
    flags = flag_values(args)
    check(container["command"] == entrypoint[:1] and args[0] == "serve", "ServingRuntime runs the image's binary: serve")
    check(set(flags) <= accepted, f"ServingRuntime flags are tessera serve's: {sorted(set(flags) - accepted)} unknown")
    check(flags["--model-repository"] == STORAGE_MOUNT and int(flags["--http-port"]) == http_port
          and int(flags["--grpc-port"]) == grpc_port, "ServingRuntime: the Dockerfile's repository and ports")
    check({p["containerPort"] for p in container["ports"]} == {http_port, grpc_port},
          "ServingRuntime containerPorts: HTTP and gRPC")
    probes = [container["livenessProbe"], container["readinessProbe"]]
    check(container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
          and container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready",
          "ServingRuntime probes: the v2 health endpoints")
    formats = {f["name"] for f in runtime["spec"]["supportedModelFormats"]}
    protocols = set(runtime["spec"]["protocolVersions"])

    for name, protocol, port in [("inferenceservice.yaml", "v2", http_port),
                                 ("inferenceservice-grpc.yaml", "grpc-v2", grpc_port)]:
        model = load_yaml(name)["spec"]["predictor"]["model"]
        check(model["runtime"] == runtime["metadata"]["name"] and model["modelFormat"]["name"] in formats
              and model["protocolVersion"] == protocol and protocol in protocols,
              f"{name}: runtime {model['runtime']}, format {model['modelFormat']['name']}, protocol "
              f"{model['protocolVersion']} declared by the ServingRuntime {sorted(protocols)}")
        check([p["containerPort"] for p in model["ports"]] == [port]
              and (protocol != "grpc-v2" or model["ports"][0].get("name") == "h2c"),
              f"{name}: serves port {port}" + (" as h2c" if protocol == "grpc-v2" else ""))
        check(model["livenessProbe"]["httpGet"] == container["livenessProbe"]["httpGet"]
              and model["readinessProbe"]["httpGet"] == container["readinessProbe"]["httpGet"],
              f"{name}: the runtime's probes")
        probes += [model["livenessProbe"], model["readinessProbe"]]
    check(all(p["httpGet"]["port"] == http_port for p in probes), "every probe is on the HTTP port")

    # The server as the ServingRuntime starts it, over a repository laid out as KServe would mount it.
    tmp = tempfile.mkdtemp(prefix="tessera_deploy_test_")
    repo = os.path.join(tmp, "models")
    serve_common.add_digits(SOURCE, repo)
    swapped = {"--model-repository": repo, "--http-port": "0", "--grpc-port": "0"}
    run_args = [swapped.get(args[i - 1], a) if i > 0 else a for i, a in enumerate(args)]
    server = subprocess.Popen([TESSERA, *run_args, "--host", "127.0.0.1"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()
        check("HTTP on" in line and "gRPC on" in line, f"tessera serve starts with the ServingRuntime's args: {line.strip()}")
        if "HTTP on" in line:
            port = int(line.split("HTTP on ")[1].split(",")[0].rsplit(":", 1)[1])
            for path in sorted({p["httpGet"]["path"] for p in probes}):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
                        status = r.status
                except urllib.error.HTTPError as e:
                    status = e.code
                check(status == 200, f"probe {path}: {status}")
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)

    # The runtime stage installs (itself or through their dependencies) the packages of every
    # library the binary links; the base image has its required packages.
    if shutil.which("dpkg-query") and shutil.which("ldd"):
        libs = re.findall(r"=> (/\S+)", subprocess.run(["ldd", TESSERA], capture_output=True, text=True).stdout)
        # A path as ldd prints it or as it resolves (usr-merged /lib): dpkg knows one of them.
        paths = sorted(set(libs) | {os.path.realpath(lib) for lib in libs})
        owners = subprocess.run(["dpkg", "-S", *paths], capture_output=True, text=True).stdout
        needed = {line.split(":")[0] for line in owners.splitlines() if ":" in line}
        check(len(needed) >= 5, f"dpkg knows the binary's libraries: {sorted(needed)}")
        installed = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Priority}\t${Depends}, ${Pre-Depends}\n"],
                                   capture_output=True, text=True).stdout
        depends, required = {}, set()
        for line in installed.splitlines():
            name, priority, deps = line.split("\t")
            depends[name] = {re.split(r"[ :(]", d.strip())[0] for d in re.split(r"[,|]", deps) if d.strip()}
            if priority == "required":
                required.add(name)
        have, todo = set(), list(packages | required)
        while todo:
            name = todo.pop()
            if name not in have:
                have.add(name)
                todo += depends.get(name, ())
        missing = needed - have
        check(not missing, f"the Dockerfile's runtime stage installs the binary's libraries: missing {sorted(missing)}")
    finish()
    print("deploy files agree with the server")


if __name__ == "__main__":
    main()
