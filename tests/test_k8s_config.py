"""The Kubernetes deployment in hub_config/k8s, checked without a cluster.

- the Helm values, merged over the chart's defaults as helm does, against the chart's published schema
  (zero-to-jupyterhub 4.4.0, vendored in hub_config/k8s/schema); a broken copy fails, saying where and why;
- every manifest, and every user pod KubeSpawner would create, against Kubernetes' own schemas
  (kubernetes-validate, offline, at a pinned Kubernetes version);
- the spawner settings loaded into a real KubeSpawner the way the chart's hub loads them, each profile's
  pod built for a real JupyterHub user: GPU profiles request nvidia.com/gpu and land on GPU nodes, only
  the groups named for a profile get it, every pod mounts the exchange, only instructors the courses;
- the hub settings against JupyterHub's own traits and scopes; the grading service the hub registers
  against the grading Deployment and Service; the roster the grading pod reads against the hub's groups;
- the student image carries no solutions, hidden suites or reference.
"""

from __future__ import annotations

import asyncio
import copy
import re
from pathlib import Path
from urllib.parse import urlparse

import jsonschema
import kubernetes_validate
import pytest
import yaml
from jupyterhub import orm
from jupyterhub.app import JupyterHub
from jupyterhub.auth import Authenticator
from jupyterhub.objects import Hub
from jupyterhub.scopes import _check_scopes_exist
from jupyterhub.spawner import Spawner
from jupyterhub.user import User
from kubernetes_asyncio.client import ApiClient
from kubernetes_asyncio.config import kube_config
from kubespawner import KubeSpawner
from traitlets.config import Config

from autograder.hub.roster import load_roster

REPO = Path(__file__).resolve().parents[1]
K8S = REPO / "hub_config" / "k8s"
KUBERNETES = "1.33.0"  # the version the manifests are checked against; the chart needs 1.28 or later
NAMESPACE = "classroom"
GPU = "nvidia.com/gpu"


def read_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def manifests() -> list[tuple[str, dict]]:
    found = []
    for path in sorted((K8S / "manifests").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                found.append((f"{path.name}: {document['kind']} {document['metadata']['name']}", document))
    return found


def find(kind: str, name: str) -> dict:
    [document] = [doc for _, doc in manifests() if doc["kind"] == kind and doc["metadata"]["name"] == name]
    return document


def helm_merge(defaults: dict, overrides: dict) -> dict:
    """Values over the chart's defaults as helm coalesces them: maps merge, null removes, the rest replaces."""
    merged = copy.deepcopy(defaults)
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def schema_problems(values: dict) -> list[str]:
    """What helm would refuse in ``values``: one line per problem, the key's dotted path first."""
    schema = read_yaml(K8S / "schema" / "values.schema.yaml")
    merged = helm_merge(read_yaml(K8S / "schema" / "chart-values.yaml"), values)
    errors = jsonschema.Draft7Validator(schema).iter_errors(merged)
    return sorted(f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in errors)


VALUES = read_yaml(K8S / "values.yaml")


# ----------------------------------------------------------------- the values against the chart's schema


def test_the_values_validate_against_the_charts_published_schema():
    provenance = (K8S / "schema" / "PROVENANCE.md").read_text()
    assert "tag `4.4.0`" in provenance and "BSD-3-Clause" in provenance
    assert schema_problems(VALUES) == []
    print(f"values.yaml: {len(VALUES)} top-level sections valid under zero-to-jupyterhub 4.4.0's schema")


def test_a_broken_copy_of_the_values_fails_with_a_readable_message():
    broken = copy.deepcopy(VALUES)
    broken["hub"]["db"]["type"] = "postgresql"  # the chart says postgres
    broken["singleuser"]["profilelist"] = broken["singleuser"].pop("profileList")  # a misspelt key
    broken["hub"]["extraFiles"] = {"nbgrader": {"stringData": "c = get_config()"}}  # no mountPath
    problems = schema_problems(broken)
    print("\n".join(problems))
    assert len(problems) == 3
    assert problems[0].startswith("hub.db.type: 'postgresql' is not one of ['sqlite-pvc', 'sqlite-memory', "
                                  "'mysql', 'postgres', 'other']")
    assert problems[1] == "hub.extraFiles.nbgrader: 'mountPath' is a required property"
    assert problems[2] == "singleuser: Additional properties are not allowed ('profilelist' was unexpected)"


# ----------------------------------------------------------------- the manifests against Kubernetes' schemas


def test_kubernetes_validate_has_the_pinned_versions_schemas_offline():
    assert KUBERNETES in kubernetes_validate.utils.all_versions()
    assert kubernetes_validate.utils.schema_contents(  # read from the installed package, never downloaded
        f"kubernetes-json-schema/v{KUBERNETES}-local-strict/deployment-apps-v1.json", KUBERNETES)


@pytest.mark.parametrize(("name", "document"), manifests(), ids=[name for name, _ in manifests()])
def test_every_manifest_validates_against_kubernetes(name, document):
    kubernetes_validate.validate(document, KUBERNETES, strict=True)


def test_a_broken_manifest_is_refused_saying_where():
    broken = copy.deepcopy(find("Deployment", "grading"))
    broken["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] = "yes"
    with pytest.raises(kubernetes_validate.ValidationError) as refused:
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)
    print(refused.value.message, list(refused.value.path))
    assert list(refused.value.path) == ["spec", "template", "spec", "containers", 0, "securityContext", "privileged"]
    assert "'yes' is not of type 'boolean'" in refused.value.message


# ----------------------------------------------------------------- the spawner settings in a real KubeSpawner


def chart_get_config(values: dict):
    """The chart's ``get_config(key, default)`` (files/hub/z2jh.py) over the merged values."""
    def get_config(key: str, default=None):
        node = values
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node
    return get_config


# What the chart's hub config (files/hub/jupyterhub_config.py at 4.4.0) sets on KubeSpawner from singleuser.*,
# for the keys that shape a user's pod: KubeSpawner trait -> key under singleuser.
CHART_TRAITS = {
    "start_timeout": "startTimeout", "image_pull_policy": "image.pullPolicy", "events_enabled": "events",
    "extra_labels": "extraLabels", "extra_annotations": "extraAnnotations", "uid": "uid", "fs_gid": "fsGid",
    "service_account": "serviceAccountName", "node_selector": "nodeSelector",
    "lifecycle_hooks": "lifecycleHooks", "init_containers": "initContainers", "extra_containers": "extraContainers",
    "mem_limit": "memory.limit", "mem_guarantee": "memory.guarantee", "cpu_limit": "cpu.limit",
    "cpu_guarantee": "cpu.guarantee", "extra_resource_limits": "extraResource.limits",
    "extra_resource_guarantees": "extraResource.guarantees", "environment": "extraEnv",
    "profile_list": "profileList", "extra_pod_config": "extraPodConfig",
}
# Keys we set under singleuser, and who reads them: the spawner settings above, or the chart's templates.
SPAWNER_KEYS = {key.split(".")[0] for key in CHART_TRAITS.values()} | {"image", "defaultUrl", "storage", "extraFiles"}
TEMPLATE_KEYS = {"networkPolicy"}


def spawner_config(values: dict) -> Config:
    """The KubeSpawner configuration the chart's hub builds from ``values``, then the values' hub.extraConfig."""
    get_config = chart_get_config(helm_merge(read_yaml(K8S / "schema" / "chart-values.yaml"), values))
    c = Config()
    for trait, key in CHART_TRAITS.items():
        if get_config(f"singleuser.{key}") is not None:
            setattr(c.KubeSpawner, trait, copy.deepcopy(get_config(f"singleuser.{key}")))
    c.KubeSpawner.image = f"{get_config('singleuser.image.name')}:{get_config('singleuser.image.tag')}"
    c.KubeSpawner.allow_privilege_escalation = get_config("singleuser.allowPrivilegeEscalation")
    c.KubeSpawner.tolerations = get_config("scheduling.userPods.tolerations", []) + get_config(
        "singleuser.extraTolerations", [])
    c.KubeSpawner.cmd = get_config("singleuser.cmd")
    c.KubeSpawner.default_url = get_config("singleuser.defaultUrl")
    storage = get_config("singleuser.storage")
    assert storage["type"] == "dynamic"
    name = storage["dynamic"]["volumeNameTemplate"]
    volumes = {name: {"name": name, "persistentVolumeClaim": {"claimName": "{pvc_name}"}}}
    mounts = {name: {"mountPath": storage["homeMountPath"], "name": name, "subPath": storage["dynamic"]["subPath"]}}
    c.KubeSpawner.storage_pvc_ensure = True
    c.KubeSpawner.storage_capacity = storage["capacity"]
    c.KubeSpawner.storage_access_modes = storage["dynamic"]["storageAccessModes"]
    files = get_config("singleuser.extraFiles", {})
    if files:
        volumes["files"] = {"name": "files", "secret": {"secretName": "singleuser", "items": [
            {"key": key, "path": key} for key in files]}}
        for index, (key, details) in enumerate(files.items()):
            mounts[f"{index}-files"] = {"mountPath": details["mountPath"], "subPath": key, "name": "files"}
    volumes.update({v["name"]: v for v in storage["extraVolumes"] or []})
    mounts.update({f"{i}-{m['name']}": m for i, m in enumerate(storage["extraVolumeMounts"] or [])})
    c.KubeSpawner.volumes, c.KubeSpawner.volume_mounts = volumes, mounts
    for key, code in sorted(get_config("hub.extraConfig", {}).items()):
        exec(compile(code, f"hub.extraConfig.{key}", "exec"), {"c": c, "get_config": get_config})
    return c


@pytest.fixture
def offline_cluster(tmp_path, monkeypatch) -> None:
    """A kubeconfig naming a cluster that is never contacted: KubeSpawner reads one when it is created.

    The client library reads $KUBECONFIG once, when it is imported: the test sets what it read then.
    """
    kubeconfig = tmp_path / ".kube" / "config"
    kubeconfig.parent.mkdir()
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "offline",
        "clusters": [{"name": "offline", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "offline", "user": {"token": "never-sent"}}],
        "contexts": [{"name": "offline", "context": {"cluster": "offline", "user": "offline"}}]}))
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(kubeconfig))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)


@pytest.fixture
def hub_users() -> dict[str, User]:
    """The values' people as JupyterHub users, in their groups (JupyterHub.load_groups), in a real hub database."""
    db = orm.new_session_factory("sqlite://")()
    groups = {}
    for name, group in VALUES["hub"]["config"]["JupyterHub"]["load_groups"].items():
        groups[name] = orm.Group(name=name)
        db.add(groups[name])
        for member in group["users"]:
            user = orm.User.find(db, member) or orm.User(name=member)
            user.groups.append(groups[name])
            db.add(user)
    db.commit()
    return {user.name: User(user, {}) for user in db.query(orm.User)}


async def pod_for(c: Config, user: User, profile: str | None) -> tuple[dict, list[str]]:
    """The pod KubeSpawner would create for ``user`` choosing ``profile``, and the profiles it offered."""
    spawner = KubeSpawner(config=c, user=user, hub=Hub(), orm_spawner=None)
    try:
        offered = [p["slug"] for p in spawner.profile_list(spawner)]
        spawner.user_options = {"profile": profile} if profile else {}
        await spawner.load_user_options()
        manifest = await spawner.get_pod_manifest()
        async with ApiClient() as client:
            return client.sanitize_for_serialization(manifest), offered
    finally:
        await spawner.api.api_client.close()


def profiles() -> dict[str, dict]:
    return {profile["slug"]: profile for profile in VALUES["singleuser"]["profileList"]}


def test_every_singleuser_key_reaches_the_spawner_or_the_charts_templates():
    unread = set(VALUES["singleuser"]) - SPAWNER_KEYS - TEMPLATE_KEYS
    assert not unread, f"singleuser keys this test does not load into KubeSpawner: {sorted(unread)}"


def test_every_profile_override_is_a_kubespawner_setting():
    settings = KubeSpawner.class_traits(config=True)
    for slug, profile in profiles().items():
        unknown = set(profile.get("kubespawner_override", {})) - set(settings)
        assert not unknown, f"profile {slug}: {sorted(unknown)} are not KubeSpawner settings"
    print("profiles:", ", ".join(profiles()))


def test_each_profile_gives_a_valid_pod_with_what_it_promises(offline_cluster, hub_users):
    c = spawner_config(VALUES)
    exchange = next(m for m in VALUES["singleuser"]["storage"]["extraVolumeMounts"] if m["name"] == "nbgrader-exchange")
    for user, profile in (("ana", "cpu"), ("ana", "gpu"), ("ben", "gpu-shared"), ("ines", "instructor-dl101")):
        pod, _ = asyncio.run(pod_for(c, hub_users[user], profile))
        kubernetes_validate.validate({"apiVersion": "v1", "kind": "Pod", **pod}, KUBERNETES, strict=True)
        [container] = pod["spec"]["containers"]
        limits = container["resources"].get("limits", {})
        env = {e["name"]: e.get("value") for e in container["env"]}
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        claims = {v["name"]: v.get("persistentVolumeClaim", {}).get("claimName") for v in pod["spec"]["volumes"]}
        print(f"{user}/{profile}: limits {limits}, node selector {pod['spec'].get('nodeSelector')}, "
              f"uid {container['securityContext']['runAsUser']}, image {container['image']}, mounts {mounts}")
        assert container["securityContext"]["runAsUser"] == 20000 + hub_users[user].id  # a uid of their own
        assert mounts["nbgrader-exchange"] == exchange["mountPath"] and claims["nbgrader-exchange"] == exchange[
            "name"]
        assert env["AUTOGRADER_GRADING_SERVICE"].startswith(VALUES["hub"]["services"]["grading"]["url"])
        if profile in ("gpu", "gpu-shared"):
            assert limits[GPU] == "1" and container["resources"]["requests"][GPU] == "1"
            assert pod["spec"]["nodeSelector"]["nvidia.com/gpu.present"] == "true"
            assert {"key": GPU, "operator": "Exists", "effect": "NoSchedule"} in pod["spec"]["tolerations"]
        else:
            assert GPU not in limits
            assert (env["CUDA_VISIBLE_DEVICES"], env["NVIDIA_VISIBLE_DEVICES"]) == ("", "void")
        if profile == "gpu-shared":
            assert env["PYTORCH_CUDA_ALLOC_CONF"] == "per_process_memory_fraction:0.25"
        if profile == "instructor-dl101":
            assert claims["courses"] == "grading-courses" and container["image"].endswith("/course:2026.11")
            assert pod["spec"]["securityContext"]["supplementalGroups"] == [2101]  # the course's staff group
            assert container["workingDir"] == "/srv/autograder/state/courses/dl101"
        else:
            assert "courses" not in claims  # the gradebook, submissions and the secret seed: staff only
            assert container["image"] == "registry.example.edu/dl101/singleuser:2026.11"


def test_only_the_named_groups_are_offered_a_profile_and_others_are_refused_it(offline_cluster, hub_users):
    c = spawner_config(VALUES)
    offered = {name: asyncio.run(pod_for(c, hub_users[name], None))[1] for name in ("ana", "ben", "gus", "ines")}
    print(offered)
    assert offered == {"ana": ["cpu", "gpu", "gpu-shared"], "ben": ["cpu", "gpu-shared"],
                       "gus": ["cpu", "instructor-dl101"],
                       "ines": ["cpu", "gpu", "gpu-shared", "instructor-dl101"]}
    for name, profile in (("ben", "gpu"), ("gus", "gpu-shared"), ("ana", "instructor-dl101")):
        with pytest.raises(ValueError, match=profile):  # also when asked through the hub's REST API
            asyncio.run(pod_for(c, hub_users[name], profile))
    groups = VALUES["custom"]["profileGroups"]
    for slug, profile in profiles().items():
        if GPU in profile.get("kubespawner_override", {}).get("extra_resource_limits", {}):
            assert groups.get(slug), f"GPU profile {slug} must name the groups that get it (custom.profileGroups)"


# ----------------------------------------------------------------- the hub's own settings


def test_the_hub_settings_are_jupyterhub_traits_and_scopes():
    classes = {"JupyterHub": JupyterHub, "Authenticator": Authenticator, "Spawner": Spawner}
    for section, settings in VALUES["hub"]["config"].items():
        if section in classes:
            unknown = set(settings) - set(classes[section].class_traits(config=True))
            assert not unknown, f"hub.config.{section}: {sorted(unknown)} are not settings of {section}"
    for role in VALUES["hub"]["loadRoles"].values():
        _check_scopes_exist(role["scopes"])
    _check_scopes_exist(VALUES["hub"]["config"]["Spawner"]["server_token_scopes"])
    assert VALUES["hub"]["config"]["JupyterHub"]["authenticator_class"] == "firstuseauthenticator"
    assert VALUES["hub"]["db"]["type"] == "postgres" and "@" in VALUES["hub"]["db"]["url"]
    assert ":" not in urlparse(VALUES["hub"]["db"]["url"]).netloc.split("@")[0]  # no password in the URL


def test_the_nbgrader_config_in_every_pod_points_at_the_exchange_volume():
    c = Config()
    exec(VALUES["singleuser"]["extraFiles"]["nbgrader-config"]["stringData"], {"get_config": lambda: c})
    mounts = {m["name"]: m["mountPath"] for m in VALUES["singleuser"]["storage"]["extraVolumeMounts"]}
    assert c.Exchange.root == mounts["nbgrader-exchange"]
    assert c.Exchange.path_includes_course is True
    assert c.Authenticator.plugin_class.__name__ == "JupyterHubAuthPlugin"


def test_the_hubs_grading_service_is_the_grading_deployments_service():
    url = urlparse(VALUES["hub"]["services"]["grading"]["url"])
    host, namespace = url.hostname.split(".")[:2]
    service, deployment = find("Service", host), find("Deployment", host)
    assert namespace == NAMESPACE
    [port] = [p for p in service["spec"]["ports"] if p["port"] == url.port]
    pod = deployment["spec"]["template"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    exposed = {p["name"]: p["containerPort"] for c in pod["spec"]["containers"] for p in c.get("ports", [])}
    assert port["targetPort"] in exposed
    grading, expose = pod["spec"]["containers"]
    listen = re.search(r"--port (\d+)", grading["args"][0]).group(1)
    assert expose["args"] == [f"TCP-LISTEN:{exposed[port['targetPort']]},fork,reuseaddr", f"TCP:127.0.0.1:{listen}"]
    env = {e["name"]: e for e in grading["env"]}
    assert env["JUPYTERHUB_API_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "hub", "key": "hub.services.grading.apiToken"}  # where the chart puts the generated token
    assert env["JUPYTERHUB_SERVICE_PREFIX"]["value"] == "/services/grading/"
    assert env["JUPYTERHUB_SERVICE_URL"]["value"] == VALUES["hub"]["services"]["grading"]["url"]
    assert VALUES["singleuser"]["extraEnv"]["AUTOGRADER_GRADING_SERVICE"] == f"{url.geturl()}/services/grading/"
    assert pod["metadata"]["labels"]["hub.jupyter.org/network-access-hub"] == "true"
    assert pod["spec"]["automountServiceAccountToken"] is False
    print(f"hub.services.grading -> Service {host}:{url.port} -> container port {exposed[port['targetPort']]} "
          f"-> the service on 127.0.0.1:{listen}")


def test_the_volumes_the_pods_mount_exist_and_are_shared_across_nodes():
    claims = {doc["metadata"]["name"]: doc for _, doc in manifests() if doc["kind"] == "PersistentVolumeClaim"}
    grading = find("Deployment", "grading")["spec"]["template"]["spec"]
    used = {v["persistentVolumeClaim"]["claimName"] for v in grading["volumes"] if "persistentVolumeClaim" in v}
    used |= {v["persistentVolumeClaim"]["claimName"] for v in VALUES["singleuser"]["storage"]["extraVolumes"]}
    used |= {v["persistentVolumeClaim"]["claimName"] for p in profiles().values()
             for v in p.get("kubespawner_override", {}).get("volumes", {}).values()}
    assert used == set(claims) == {"nbgrader-exchange", "grading-courses"}
    assert all(claims[name]["spec"]["accessModes"] == ["ReadWriteMany"] for name in used)
    postgres = urlparse(VALUES["hub"]["db"]["url"])
    assert find("Service", postgres.hostname)["spec"]["ports"][0]["port"] == postgres.port
    secret = VALUES["hub"]["extraEnv"]["PGPASSWORD"]["valueFrom"]["secretKeyRef"]
    server = find("StatefulSet", postgres.hostname)["spec"]["template"]["spec"]["containers"][0]
    assert {e["name"]: e.get("valueFrom") for e in server["env"]}["POSTGRES_PASSWORD"] == {"secretKeyRef": secret}


def test_the_grading_pods_roster_matches_the_hubs_accounts_and_groups(tmp_path):
    text = find("ConfigMap", "classroom-roster")["data"]["roster.toml"]
    assert 'course_root = "/opt/course"' in text
    roster_path = tmp_path / "roster.toml"  # the image's /opt/course is this repository's course tree
    roster_path.write_text(text.replace('course_root = "/opt/course"', f'course_root = "{REPO}"'))
    roster = load_roster(roster_path)
    config = VALUES["hub"]["config"]
    groups = {name: sorted(group["users"]) for name, group in config["JupyterHub"]["load_groups"].items()}
    assert {name: groups[name] for name in roster.groups()} == roster.groups()
    assert sorted(config["Authenticator"]["allowed_users"]) == sorted(roster.people)
    assert all(set(members) <= set(roster.people) for members in groups.values())
    assert all(set(named) <= set(groups) for named in VALUES["custom"]["profileGroups"].values())
    staff_gid = re.search(r"groupadd --gid (\d+) agstaff-dl101", find("Deployment", "grading")["spec"]["template"][
        "spec"]["containers"][0]["args"][0]).group(1)
    assert profiles()["instructor-dl101"]["kubespawner_override"]["supplemental_gids"] == [int(staff_gid)]


def test_the_student_image_carries_no_solutions_hidden_suites_or_reference():
    stages = re.split(r"^FROM ", (K8S / "Dockerfile.singleuser").read_text(), flags=re.MULTILINE)[1:]
    copied = {stage.split()[2]: re.findall(r"^COPY (\S+)", stage, re.MULTILINE) for stage in stages}
    print(copied)
    for stage in ("base", "student"):
        assert not {"assignments", "reference", "."} & set(copied[stage]), stage
    assert {"assignments", "reference"} <= set(copied["course"])
    assert "FROM student AS course" in (K8S / "Dockerfile.singleuser").read_text()
