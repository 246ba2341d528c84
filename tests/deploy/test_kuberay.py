"""deploy/kuberay: the RayCluster and RayJob manifests have the fields that matter, and valid pods.

KubeRay's CRD schemas are not reachable offline, so the CR keys are checked against the json tags
of ray-project/kuberay ray-operator/apis/ray/v1 (raycluster_types.go, rayjob_types.go), each pod
template is validated as a Kubernetes Pod with kubernetes-validate (strict: unknown fields fail),
and Ray's own KubeRay reader (the autoscaler's `_derive_autoscaling_config_from_ray_cr`, which
ends in Ray's `validate_config`) turns the RayCluster into node types.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import kubernetes_validate
import pytest
import ray
import yaml

from pipeline import config

REPO = Path(__file__).resolve().parents[2]
KUBERAY = REPO / "deploy" / "kuberay"
PIPELINE_IMAGE = re.compile(r"\S+/budget-realloc/pipeline:[\w.-]+")  # any registry (docs/deployment.md)
LAUNCHER = REPO / "deploy" / "ray" / "cluster-8xa100.yaml"
SIDECARS = {"dind"}  # containers that are not Ray nodes

CLUSTER_SPEC_FIELDS = {"headGroupSpec", "workerGroupSpecs", "rayVersion", "enableInTreeAutoscaling",
                       "autoscalerOptions", "headServiceAnnotations", "suspend"}
HEAD_FIELDS = {"serviceType", "headService", "enableIngress", "rayStartParams", "template"}
WORKER_FIELDS = {"groupName", "replicas", "minReplicas", "maxReplicas", "numOfHosts", "rayStartParams",
                 "template", "scaleStrategy"}
AUTOSCALER_FIELDS = {"resources", "image", "imagePullPolicy", "env", "envFrom", "volumeMounts",
                     "securityContext", "idleTimeoutSeconds", "upscalingMode"}
JOB_SPEC_FIELDS = {"activeDeadlineSeconds", "backoffLimit", "rayClusterSpec", "submitterPodTemplate", "metadata",
                   "clusterSelector", "submitterConfig", "managedBy", "deletionStrategy", "entrypoint",
                   "runtimeEnvYAML", "jobId", "submissionMode", "entrypointResources", "entrypointNumCpus",
                   "entrypointNumGpus", "ttlSecondsAfterFinished", "shutdownAfterJobFinishes", "suspend", "schedule"}


def load(name: str) -> dict:
    return yaml.safe_load((KUBERAY / name).read_text())


@pytest.fixture(scope="module")
def cluster() -> dict:
    return load("raycluster.yaml")


@pytest.fixture(scope="module")
def job() -> dict:
    return load("rayjob.yaml")


def groups(spec: dict) -> dict[str, dict]:
    out = {"head": spec["headGroupSpec"]}
    out.update({g["groupName"]: g for g in spec["workerGroupSpecs"]})
    return out


def test_the_manifests_are_kuberay_v1_objects(cluster, job):
    assert (cluster["apiVersion"], cluster["kind"]) == ("ray.io/v1", "RayCluster")
    assert (job["apiVersion"], job["kind"]) == ("ray.io/v1", "RayJob")


def unknown_fields(spec: dict) -> set[str]:
    """Keys of a RayCluster spec that KubeRay's API types do not have."""
    bad = (set(spec) - CLUSTER_SPEC_FIELDS) | (set(spec["headGroupSpec"]) - HEAD_FIELDS)
    bad |= set(spec.get("autoscalerOptions", {})) - AUTOSCALER_FIELDS
    for group in spec["workerGroupSpecs"]:
        bad |= set(group) - WORKER_FIELDS
    return bad


def test_only_fields_kuberay_knows_are_used(cluster, job):
    assert unknown_fields(cluster["spec"]) == set()
    assert unknown_fields(job["spec"]["rayClusterSpec"]) == set()
    assert set(job["spec"]) - JOB_SPEC_FIELDS == set()


def test_a_misspelt_field_is_reported(cluster):
    spec = json.loads(json.dumps(cluster["spec"]))
    spec["workerGroupSpecs"][0]["maxReplica"] = spec["workerGroupSpecs"][0].pop("maxReplicas")
    spec["headGroupSpec"]["rayStartParam"] = {}
    assert unknown_fields(spec) == {"maxReplica", "rayStartParam"}


def test_the_job_runs_the_paper_config_on_the_same_cluster(cluster, job):
    assert job["spec"]["entrypoint"] == "python -m pipeline run /configs/paper.yaml"
    assert job["spec"]["rayClusterSpec"] == cluster["spec"]
    assert job["spec"]["shutdownAfterJobFinishes"] is True


def test_the_cluster_runs_the_ray_version_of_the_client(cluster):
    assert cluster["spec"]["rayVersion"] == ray.__version__


def test_every_ray_container_uses_the_same_pipeline_image_as_the_launcher(cluster):
    image = yaml.safe_load(LAUNCHER.read_text())["docker"]["image"]
    assert PIPELINE_IMAGE.fullmatch(image)
    for name, group in groups(cluster["spec"]).items():
        pod = group["template"]["spec"]
        images = {c["image"] for c in pod["containers"] + pod.get("initContainers", []) if c["name"] not in SIDECARS}
        assert images == {image}, name


def test_gpu_workers_ask_for_eight_a100s(cluster):
    gpu = groups(cluster["spec"])["gpu-8xa100"]
    (container,) = gpu["template"]["spec"]["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 8
    assert container["resources"]["requests"]["nvidia.com/gpu"] == 8
    assert "A100" in gpu["template"]["spec"]["nodeSelector"]["nvidia.com/gpu.product"]
    assert gpu["maxReplicas"] >= gpu["replicas"] >= 1


def test_only_the_sandbox_group_has_the_sandbox_resource_and_no_group_but_gpu_has_gpus(cluster):
    for name, group in groups(cluster["spec"]).items():
        raw = group["rayStartParams"].get("resources")
        custom = json.loads(json.loads(raw)) if raw else {}  # KubeRay's quoted-JSON form
        assert (custom.get("sandbox") == 1) == (name == "sandbox-cpu"), name
        if name != "gpu-8xa100":
            for c in group["template"]["spec"]["containers"]:
                assert "nvidia.com/gpu" not in c["resources"].get("limits", {}), name


def test_the_sandbox_reaches_a_docker_daemon_in_its_pod(cluster):
    pod = groups(cluster["spec"])["sandbox-cpu"]["template"]["spec"]
    containers = {c["name"]: c for c in pod["containers"]}
    env = {e["name"]: e["value"] for e in containers["ray-worker"]["env"]}
    assert env["DOCKER_HOST"] == "tcp://127.0.0.1:2375"
    assert "--host=tcp://127.0.0.1:2375" in containers["dind"]["args"]
    assert "budget-realloc/sandbox:" in env["SANDBOX_IMAGE"]


def test_the_run_directory_and_the_data_live_in_the_same_bucket(cluster):
    paper = config.load(REPO / "configs" / "paper.yaml")
    bucket = paper.output_dir.split("/")[2]
    (init,) = groups(cluster["spec"])["head"]["template"]["spec"]["initContainers"]
    assert f"s3://{bucket}/" in " ".join(init["command"])
    mounts = {m["mountPath"] for m in init["volumeMounts"]}
    for bench in paper.benchmarks:
        if bench.data:
            assert any(bench.data.startswith(m + "/") for m in mounts), bench.data


@pytest.mark.parametrize("group", ["head", "gpu-8xa100", "sandbox-cpu"])
def test_each_pod_template_is_a_valid_kubernetes_pod(cluster, group):
    template = groups(cluster["spec"])[group]["template"]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"budget-realloc-{group}"}, "spec": template["spec"]}
    kubernetes_validate.validate(pod, kubernetes_validate.latest_version(), strict=True)


def test_the_pod_validation_rejects_an_unknown_container_field(cluster):
    spec = json.loads(json.dumps(groups(cluster["spec"])["head"]["template"]["spec"]))
    spec["containers"][0]["imagee"] = "typo"
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": spec}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(pod, kubernetes_validate.latest_version(), strict=True)


def ray_view(cluster: dict) -> dict:
    """The node types Ray's autoscaler derives from the RayCluster (it validates them with Ray's schema)."""
    from ray.autoscaler._private.kuberay.autoscaling_config import _derive_autoscaling_config_from_ray_cr

    cr = json.loads(json.dumps(cluster))
    cr["metadata"]["namespace"] = "default"
    return _derive_autoscaling_config_from_ray_cr(cr)["available_node_types"]


def test_rays_autoscaler_reads_gpus_cpus_and_the_sandbox_resource_from_the_cluster(cluster):
    types = ray_view(cluster)
    assert types["gpu-8xa100"]["resources"]["GPU"] == 8
    assert types["sandbox-cpu"]["resources"]["sandbox"] == 1
    assert types["sandbox-cpu"]["resources"]["CPU"] == 88  # the dind sidecar's cores, not the Ray container's 4
    assert "GPU" not in types["sandbox-cpu"]["resources"] and "GPU" not in types["headgroup"]["resources"]
    assert types["gpu-8xa100"]["max_workers"] == 4


def test_each_paper_model_fits_one_gpu_pod(cluster):
    gpu = ray_view(cluster)["gpu-8xa100"]["resources"]
    for model in config.load(REPO / "configs" / "paper.yaml").models:
        assert model.replicas * model.num_gpus <= gpu["GPU"], model.name
        assert model.replicas * model.num_cpus <= gpu["CPU"], model.name


def test_rays_reading_fails_on_a_malformed_custom_resource(cluster):
    broken = json.loads(json.dumps(cluster))
    broken["spec"]["workerGroupSpecs"][1]["rayStartParams"]["resources"] = "{sandbox: 1"
    with pytest.raises(ValueError):  # json.JSONDecodeError
        ray_view(broken)


def test_the_paper_configs_sandbox_actors_fit_the_sandbox_pods_only(cluster):
    paper = config.load(REPO / "configs" / "paper.yaml")
    types = ray_view(cluster)
    fits = [name for name, t in types.items()
            if all(t["resources"].get(k, 0) >= v for k, v in paper.sandbox_resources.items())]
    assert paper.sandbox_resources and fits == ["sandbox-cpu"]
    assert paper.sandbox_actors <= types["sandbox-cpu"]["max_workers"]
