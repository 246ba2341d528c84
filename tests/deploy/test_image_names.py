"""The pipeline image has one name and tag: the build script's, which the Dockerfile and every manifest use.

deploy/pipeline/build_image.sh tags `$REGISTRY/budget-realloc/pipeline:$VERSION` (registry
registry.example.com unless REGISTRY is set); the Ray launcher config and the KubeRay manifests
must run exactly that image on every Ray node, the version must be the project's, and the
Dockerfile's default base must be the root filesystem that the script imports.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import dockerfile
import pytest
import tomllib
import yaml

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "pipeline" / "build_image.sh"
DOCKERFILE = REPO / "deploy" / "pipeline" / "Dockerfile"
LAUNCHER = REPO / "deploy" / "ray" / "cluster-8xa100.yaml"
KUBERAY = [REPO / "deploy" / "kuberay" / "raycluster.yaml", REPO / "deploy" / "kuberay" / "rayjob.yaml"]
SIDECARS = {"dind"}  # containers that are not Ray nodes


def script_value(name: str) -> str:
    """The value the build script gives NAME (`NAME="..."` or `NAME="${NAME:-...}"`), defaults expanded."""
    (value,) = re.findall(rf'^{name}="([^"\n]*)"$', SCRIPT.read_text(), flags=re.M)
    default = re.fullmatch(rf"\$\{{{name}:-(.*)\}}", value)
    value = default[1] if default else value
    return re.sub(r"\$\{(\w+)\}", lambda m: script_value(m[1]), value)


IMAGE = script_value("IMAGE")


def pods(manifest: dict) -> list[dict]:
    spec = manifest["spec"].get("rayClusterSpec", manifest["spec"])
    groups = [spec["headGroupSpec"], *spec["workerGroupSpecs"]]
    return [g["template"]["spec"] for g in groups]


def test_the_build_script_tags_the_project_version_under_the_default_registry():
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert IMAGE == f"registry.example.com/budget-realloc/pipeline:{version}"


def test_the_build_script_prints_the_same_tag_it_builds():
    # bash itself expands the script's variables: no reimplementation of its defaults
    head = "\n".join(line for line in SCRIPT.read_text().splitlines() if re.match(r"^[A-Z_]+=", line))
    out = subprocess.run(["bash", "-c", head + '\necho "$IMAGE"'], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin"}, timeout=30)
    assert out.stdout.strip() == IMAGE
    out = subprocess.run(["bash", "-c", head + '\necho "$IMAGE"'], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "REGISTRY": "my.registry.io"}, timeout=30)
    assert out.stdout.strip() == IMAGE.replace("registry.example.com", "my.registry.io")


def test_the_launcher_runs_the_built_image_on_every_node():
    launcher = yaml.safe_load(LAUNCHER.read_text())
    assert launcher["docker"]["image"] == IMAGE
    for name, node in launcher["available_node_types"].items():
        assert "worker_image" not in node.get("docker", {}), name


@pytest.mark.parametrize("path", KUBERAY, ids=lambda p: p.name)
def test_every_kuberay_ray_container_runs_the_built_image(path):
    for pod in pods(yaml.safe_load(path.read_text())):
        for container in pod["containers"] + pod.get("initContainers", []):
            if container["name"] not in SIDECARS:
                assert container["image"] == IMAGE, f"{path.name}: {container['name']}"


def test_the_dockerfile_labels_the_same_name_and_version_and_builds_on_the_scripts_root():
    commands = list(dockerfile.parse_file(str(DOCKERFILE)))
    labels = [c.value for c in commands if c.cmd == "LABEL"]
    labels = {k: v.strip('"') for value in labels for k, v in zip(value[::2], value[1::2])}
    name, _, version = IMAGE.partition("/")[2].partition(":")
    assert labels["org.opencontainers.image.title"] == name
    assert labels["org.opencontainers.image.version"] == version
    (arg,) = [c.value[0] for c in commands if c.cmd == "ARG" and c.value[0].startswith("CUDA_IMAGE=")]
    assert arg == "CUDA_IMAGE=" + script_value("BASE")
    assert IMAGE in DOCKERFILE.read_text()  # the usage comment names the tag


def test_make_image_runs_the_build_script_and_the_readme_names_the_tag():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^image:.*\n(\t.*\n)*\t.*deploy/pipeline/build_image\.sh", makefile, flags=re.M)
    assert IMAGE in (REPO / "README.md").read_text()
