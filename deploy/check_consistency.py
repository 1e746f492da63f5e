#!/usr/bin/env python3
"""Check that the deployment files agree with each other.

The schema checks in validate.sh see one file at a time, so this script
checks what only shows across files. Every writer and reader must use the
same store path. The blender's port must match the exposed, published and
probed ports. The Kubernetes objects must refer to each other by the right
names and labels. The Dockerfile must copy files that exist and that its
ignore file keeps in the build context.

Usage: check_consistency.py [DEPLOY_DIR]   (default: this script's folder)
Prints one line per problem and exits 1 if there is any.
"""

import json
import re
import shlex
import sys
from pathlib import Path

import yaml

STORE_PATH = "/var/lib/stackrec/feature-store.sqlite"
STATE_DIRECTORY = "/var/lib/stackrec"
DATA_DIRECTORY = "/var/lib/stackrec/data/ml-latest-small"


class Checker:
    """Problems found so far, each prefixed with its file's repository path."""

    def __init__(self, deploy_dir: Path):
        self.deploy_dir = deploy_dir
        self.repository_root = deploy_dir.parent
        self.problems: list[str] = []
        # The image's USER, which the pods' runAsUser must match.
        self.image_uid: int | None = None

    def expect(self, condition: bool, where: Path, message: str) -> None:
        if not condition:
            self.problems.append(f"{where.relative_to(self.repository_root)}: {message}")

    def expect_store(self, where: Path, role: str, path: str | None) -> None:
        self.expect(
            path == STORE_PATH, where, f"{role} uses store {path!r}, expected {STORE_PATH!r}"
        )

    def expect_precompute(self, where: Path, arguments: list[str]) -> None:
        """Check a stackrec-precompute command line's store and data options."""
        self.expect_store(where, "precompute --out", option_value(arguments, "--out"))
        # stackrec-precompute downloads a missing --data directory only when
        # --data-url is given as well.
        self.expect(
            option_value(arguments, "--data") == DATA_DIRECTORY
            and option_value(arguments, "--data-url") is not None,
            where,
            f"precompute needs --data {DATA_DIRECTORY} and --data-url, so that the first run "
            "downloads the dataset",
        )


def option_value(arguments: list[str], option: str) -> str | None:
    """Return the word after `option` in a command line, or None."""
    if option in arguments:
        index = arguments.index(option)
        if index + 1 < len(arguments):
            return arguments[index + 1]
    return None


def listen_port(arguments: list[str]) -> int | None:
    """Return the port of a stackrec-blend --listen [HOST:]PORT option."""
    address = option_value(arguments, "--listen")
    if address is None:
        return None
    return int(address.rsplit(":", 1)[-1])


def read_unit(path: Path) -> dict[str, list[str]]:
    """Parse a systemd unit file into key -> values, joining continued lines."""
    settings: dict[str, list[str]] = {}
    logical = re.sub(r"\\\n", " ", path.read_text())
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def check_systemd(checker: Checker) -> None:
    folder = checker.deploy_dir / "systemd"
    precompute_path = folder / "stackrec-precompute.service"
    blend_path = folder / "stackrec-blend.service"
    timer_path = folder / "stackrec-precompute.timer"
    precompute = read_unit(precompute_path)
    blend = read_unit(blend_path)
    timer = read_unit(timer_path)

    precompute_command = shlex.split(precompute["ExecStart"][0])
    blend_command = shlex.split(blend["ExecStart"][0])
    checker.expect_precompute(precompute_path, precompute_command)
    checker.expect_store(blend_path, "--store", option_value(blend_command, "--store"))
    checker.expect(
        precompute.get("StateDirectory") == ["stackrec"],
        precompute_path,
        f"StateDirectory= must be 'stackrec', so that {STATE_DIRECTORY} is writable",
    )
    checker.expect(
        precompute.get("User") == blend.get("User"),
        blend_path,
        "User= differs from stackrec-precompute.service, so the blender may not read the store",
    )

    timer_unit = timer.get("Unit", ["stackrec-precompute.service"])[0]
    checker.expect(
        (folder / timer_unit).is_file(), timer_path, f"Unit={timer_unit} has no unit file here"
    )
    reloads = [command for command in precompute.get("ExecStartPost", []) if "reload" in command]
    checker.expect(
        any(command.split()[-1] == blend_path.name for command in reloads),
        precompute_path,
        f"no ExecStartPost= reloads {blend_path.name} after a successful run",
    )


def read_dockerfile(path: Path) -> list[tuple[str, str]]:
    """Return (INSTRUCTION, arguments) pairs with continued lines joined."""
    logical = re.sub(r"\\\n", " ", path.read_text())
    instructions = []
    for line in logical.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def check_container(checker: Checker) -> None:
    folder = checker.deploy_dir / "container"
    dockerfile_path = folder / "Dockerfile"
    instructions = read_dockerfile(dockerfile_path)
    last = {keyword: arguments for keyword, arguments in instructions}

    command = json.loads(last["CMD"])
    port = listen_port(command)
    checker.expect_store(dockerfile_path, "CMD --store", option_value(command, "--store"))
    checker.expect(
        last.get("EXPOSE") == str(port), dockerfile_path, f"EXPOSE differs from CMD port {port}"
    )
    health_command = json.loads(last["HEALTHCHECK"].split("CMD", 1)[1])
    checker.expect(
        str(port) in health_command,
        dockerfile_path,
        f"HEALTHCHECK does not ping CMD port {port}",
    )
    checker.image_uid = int(last["USER"].split(":")[0])

    # The ignore file lists what the build context keeps, as "!PATH" lines.
    ignore_path = folder / "Dockerfile.dockerignore"
    kept_paths = {
        line[1:].rstrip("/")
        for line in ignore_path.read_text().splitlines()
        if line.startswith("!")
    }
    for keyword, arguments in instructions:
        if keyword != "COPY" or arguments.startswith("--from"):
            continue
        for source in arguments.split()[:-1]:
            source = source.rstrip("/")
            checker.expect(
                (checker.repository_root / source).exists(),
                dockerfile_path,
                f"COPY source {source} does not exist",
            )
            checker.expect(
                source in kept_paths,
                ignore_path,
                f"COPY source {source} is left out of the build context: add !{source}",
            )

    compose_path = folder / "compose.yaml"
    services = yaml.safe_load(compose_path.read_text())["services"]
    precompute_command = services["precompute"]["command"]
    blend_command = services["blend"]["command"]
    checker.expect_precompute(compose_path, precompute_command)
    checker.expect_store(compose_path, "blend --store", option_value(blend_command, "--store"))
    compose_port = listen_port(blend_command)
    published = [str(mapping).rsplit(":", 1)[-1] for mapping in services["blend"]["ports"]]
    checker.expect(
        published == [str(compose_port)],
        compose_path,
        f"blend publishes container ports {published}, but listens on {compose_port}",
    )
    for name in ("precompute", "blend"):
        targets = [volume.split(":")[1] for volume in services[name]["volumes"]]
        checker.expect(
            targets == [STATE_DIRECTORY],
            compose_path,
            f"{name} mounts {targets}, expected the volume at {STATE_DIRECTORY}",
        )


def probe_ports(container: dict) -> list[str]:
    ports = []
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        command = container.get(probe, {}).get("exec", {}).get("command", [])
        ports.append(command[2] if len(command) > 2 else "")
    return ports


def check_kubernetes(checker: Checker) -> None:
    folder = checker.deploy_dir / "kubernetes"
    kustomization_path = folder / "kustomization.yaml"
    manifests = sorted(path for path in folder.glob("*.yaml") if path != kustomization_path)
    listed = yaml.safe_load(kustomization_path.read_text())["resources"]
    checker.expect(
        sorted(listed) == [path.name for path in manifests],
        kustomization_path,
        f"resources {sorted(listed)} differ from the manifests {[p.name for p in manifests]}",
    )

    objects = {}
    for path in manifests:
        for document in yaml.safe_load_all(path.read_text()):
            objects[document["kind"]] = (path, document)
    claim_path, claim = objects["PersistentVolumeClaim"]
    cronjob_path, cronjob = objects["CronJob"]
    deployment_path, deployment = objects["Deployment"]
    service_path, service = objects["Service"]
    claim_name = claim["metadata"]["name"]

    job_pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    blend_pod = deployment["spec"]["template"]["spec"]
    for path, pod in ((cronjob_path, job_pod), (deployment_path, blend_pod)):
        claims = [
            volume["persistentVolumeClaim"]["claimName"]
            for volume in pod["volumes"]
            if "persistentVolumeClaim" in volume
        ]
        checker.expect(
            claims == [claim_name],
            path,
            f"mounts claims {claims}, expected [{claim_name!r}] from {claim_path.name}",
        )
        if checker.image_uid is not None:
            checker.expect(
                pod["securityContext"]["runAsUser"] == checker.image_uid,
                path,
                f"runAsUser differs from the image's USER {checker.image_uid}",
            )

    precompute = job_pod["containers"][0]
    checker.expect_precompute(cronjob_path, precompute["command"])

    containers = {container["name"]: container for container in blend_pod["containers"]}
    blend = containers["blend"]
    checker.expect_store(
        deployment_path, "blend --store", option_value(blend["command"], "--store")
    )
    watcher = containers["reload-on-change"]
    checker.expect_store(deployment_path, "reload-on-change", watcher["command"][1])
    for init_container in blend_pod.get("initContainers", []):
        checker.expect(
            STORE_PATH in " ".join(init_container["command"]),
            deployment_path,
            f"init container {init_container['name']} does not wait for {STORE_PATH}",
        )

    port = listen_port(blend["command"])
    container_ports = {p["name"]: p["containerPort"] for p in blend["ports"]}
    checker.expect(
        list(container_ports.values()) == [port],
        deployment_path,
        f"containerPort {list(container_ports.values())} differs from --listen port {port}",
    )
    checker.expect(
        probe_ports(blend) == [str(port)] * 3,
        deployment_path,
        f"probes ping ports {probe_ports(blend)}, expected {port}",
    )
    checker.expect(
        watcher["command"][3] == str(port),
        deployment_path,
        f"reload-on-change sends RELOAD to port {watcher['command'][3]}, expected {port}",
    )

    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    checker.expect(
        selector.items() <= labels.items(),
        deployment_path,
        "spec.selector does not match the pod template's labels",
    )
    checker.expect(
        service["spec"]["selector"].items() <= labels.items(),
        service_path,
        "selector does not match the blender pods' labels",
    )
    for service_port in service["spec"]["ports"]:
        target = service_port["targetPort"]
        checker.expect(
            target in container_ports or target == port,
            service_path,
            f"targetPort {target!r} is not a port of the blend container",
        )


def main() -> int:
    deploy_dir = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent).resolve()
    checker = Checker(deploy_dir)
    # The Kubernetes check compares runAsUser with the image's USER, so the
    # container check runs first.
    for folder, check in (
        ("systemd", check_systemd),
        ("container", check_container),
        ("kubernetes", check_kubernetes),
    ):
        try:
            check(checker)
        except (KeyError, IndexError, ValueError, TypeError) as error:
            # The rest of that folder's checks depend on the missing value.
            checker.problems.append(f"deploy/{folder}: invalid or missing setting: {error!r}")
    for problem in checker.problems:
        print(f"error: {problem}")
    return 1 if checker.problems else 0


if __name__ == "__main__":
    sys.exit(main())
