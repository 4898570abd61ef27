"""Confinement settings (autograder/sandbox/confine.py): limits as TOML, and the wrapped command line.

Nothing here starts a process: `Sandbox.wrap` only builds an argv.
"""

from __future__ import annotations

import os
import subprocess
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from autograder.sandbox import confine
from autograder.sandbox import host as host_facts
from autograder.sandbox.confine import NPROC_BACKSTOP, SANDBOX_HOME, SANDBOX_UID, Limits, MiB, Sandbox

FIELDS = [item.name for item in fields(Limits)]
ODD = Limits(notebook_timeout_s=123.5, cell_timeout_s=7.25, call_timeout_s=3.0, startup_timeout_s=11.0,
             memory_mb=1536, address_space_mb=9000, processes=17, output_bytes=4321, disk_mb=64, open_files=99,
             threads=3, gpu=True, gpu_memory_mb=512)


def test_the_odd_limits_change_every_field():
    assert all(getattr(ODD, name) != getattr(Limits(), name) for name in FIELDS)


@pytest.mark.parametrize("limits", [Limits(), ODD], ids=["default", "every field changed"])
def test_to_toml_reads_back_the_same_limits(limits, tmp_path):
    text = limits.to_toml()
    table = tomllib.loads(text)["limits"]
    assert sorted(table) == sorted(FIELDS)
    assert Limits.from_table(table) == limits
    for name in FIELDS:
        assert type(getattr(Limits.from_table(table), name)) is type(getattr(Limits(), name))
    path = tmp_path / "assignment.toml"
    path.write_text(text + '\n[data]\nfiles = ["x.csv"]\n')  # other tables beside [limits] are fine
    assert Limits.from_toml(path) == limits


def test_to_toml_documents_each_key_with_its_help():
    lines = Limits().to_toml().splitlines()
    assert lines[0] == "[limits]"
    for key, _, help_text in Limits.describe():
        index = next(i for i, line in enumerate(lines) if line.startswith(f"{key} = "))
        assert lines[index - 1] == f"# {help_text}"
    assert "gpu = false" in lines and "gpu = true" in ODD.to_toml().splitlines()


def test_from_toml_reads_a_partial_table_and_keeps_the_other_defaults(tmp_path):
    path = tmp_path / "assignment.toml"
    path.write_text("[limits]\nmemory_mb = 1024\ncell_timeout_s = 5\ngpu = true\n")
    limits = Limits.from_toml(path)
    assert (limits.memory_mb, limits.cell_timeout_s, limits.gpu) == (1024, 5.0, True)
    assert type(limits.cell_timeout_s) is float  # an int for a float is taken, as a float
    assert limits.processes == Limits().processes and limits.notebook_timeout_s == Limits().notebook_timeout_s


def test_from_toml_without_a_limits_table_is_the_defaults(tmp_path):
    path = tmp_path / "assignment.toml"
    path.write_text('[data]\nfiles = []\n')
    assert Limits.from_toml(path) == Limits()
    path.write_text("")
    assert Limits.from_toml(path) == Limits()


def test_an_unknown_key_is_refused_with_the_known_ones(tmp_path):
    path = tmp_path / "assignment.toml"
    path.write_text("[limits]\nmemory_mb = 1024\nmemroy_mb = 5\ncpus = 2\n")
    with pytest.raises(ValueError, match=r"unknown key\(s\) cpus, memroy_mb in \[limits\]") as raised:
        Limits.from_toml(path)
    message = str(raised.value)
    assert message.startswith(str(path)) and all(name in message for name in FIELDS)


@pytest.mark.parametrize("key, value", [
    ("memory_mb", "4096"),  # str for int
    ("memory_mb", True),  # bool for int
    ("memory_mb", 4096.0),  # float for int
    ("processes", 1.5),
    ("open_files", [256]),
    ("cell_timeout_s", "60"),  # str for float
    ("cell_timeout_s", False),  # bool for float
    ("gpu", 1),  # int for bool
    ("gpu", "true"),
    ("threads", {"n": 2}),
])
def test_a_value_of_the_wrong_type_is_refused_naming_the_key(key, value):
    with pytest.raises(ValueError, match=rf"\[limits\] {key} = .* must be (int|float|bool), like the default"):
        Limits.from_table({key: value}, where="course/assignment.toml")


def test_wrong_types_in_a_file_name_the_file_and_the_key(tmp_path):
    path = tmp_path / "assignment.toml"
    path.write_text('[limits]\nmemory_mb = "4 GiB"\n')
    with pytest.raises(ValueError, match=r"\[limits\] memory_mb = '4 GiB' must be int") as raised:
        Limits.from_toml(path)
    assert str(raised.value).startswith(str(path))


@pytest.mark.parametrize("key", [name for name in FIELDS if name not in ("gpu", "gpu_memory_mb")])
@pytest.mark.parametrize("value", [0, -1])
def test_non_positive_values_are_refused_naming_the_key(key, value):
    with pytest.raises(ValueError, match=rf"\[limits\] {key} = {value} must be greater than 0"):
        Limits.from_table({key: value})


def test_a_gpu_memory_cap_of_0_means_none_and_a_negative_one_is_refused():
    assert Limits.from_table({"gpu_memory_mb": 0}) == Limits()
    with pytest.raises(ValueError, match=r"\[limits\] gpu_memory_mb = -1 must be 0 or more"):
        Limits.from_table({"gpu_memory_mb": -1})


@pytest.mark.parametrize("key", ["cell_timeout_s", "notebook_timeout_s"])
def test_non_positive_float_values_are_refused(key):
    with pytest.raises(ValueError, match=rf"{key} = -0.5 must be greater than 0"):
        Limits.from_table({key: -0.5})
    with pytest.raises(ValueError, match=rf"{key} = nan must be greater than 0"):
        Limits.from_table({key: float("nan")})


def test_gpu_false_is_allowed():
    assert Limits.from_table({"gpu": False}) == Limits()


def test_describe_covers_every_field():
    described = Limits.describe()
    assert [key for key, _, _ in described] == FIELDS
    defaults = Limits()
    for key, default, help_text in described:
        assert default == getattr(defaults, key)
        assert help_text.strip() and len(help_text) > 15, key


# ----------------------------------------------------------------- the command line


@pytest.fixture
def host(monkeypatch):
    """A host with bwrap, prlimit and setpriv, run as root, without cgroups; no process may start."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"wrap started a process: {args}")

    monkeypatch.setattr(confine, "bwrap_binary", lambda: "/opt/bwrap")
    monkeypatch.setattr(confine.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(confine, "cgroup_roots", lambda: {})
    monkeypatch.setattr(confine.os, "geteuid", lambda: 0)
    monkeypatch.setattr(host_facts, "nvidia_smi_inventory",
                        lambda: {"0": host_facts.GpuInfo("0", "0000:1a:00.0", 81920)})  # one 80 GiB GPU
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(subprocess, "run", refuse)
    return monkeypatch


KERNEL = ["/venv/bin/python", "-m", "ipykernel_launcher", "-f", "/run/k/kernel.json"]


def option(argv: list[str], flag: str) -> list[str]:
    """The values after each occurrence of ``flag``."""
    return [argv[i + 1] for i, item in enumerate(argv[:-1]) if item == flag]


def pairs(argv: list[str], flag: str) -> list[tuple[str, str]]:
    return [(argv[i + 1], argv[i + 2]) for i, item in enumerate(argv[:-2]) if item == flag]


def test_wrap_holds_prlimit_bwrap_and_setpriv_for_the_limits(host, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    runtime = tmp_path / "runtime"
    extra = tmp_path / "helper.py"
    sandbox = Sandbox(ODD, runtime, data_dir=data, files={"helper.py": extra})
    argv = sandbox.wrap(KERNEL)

    assert argv[:7] == ["prlimit", f"--as={9000 * MiB}", "--nproc=17", f"--fsize={64 * MiB}", "--nofile=99",
                        "--core=0", "--"]
    bwrap = argv.index("/opt/bwrap")
    assert bwrap == 7
    inner = argv[argv.index("--", bwrap) + 1:]
    assert inner[-len(KERNEL):] == KERNEL
    outer = argv[bwrap:argv.index("--", bwrap)]
    for flag in ("--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
                 "--new-session", "--clearenv"):
        assert flag in outer, flag
    assert option(outer, "--size").count(str(64 * MiB)) == 2  # /tmp and the home, both of disk_mb
    # gpu on: /sys is there for CUDA, with an empty /sys/fs/cgroup over other kernels' cgroups (where it exists)
    cgroups = ["/sys/fs/cgroup"] if os.path.isdir("/sys/fs/cgroup") else []
    assert option(outer, "--tmpfs") == ["/tmp", SANDBOX_HOME, *cgroups]
    assert (str(data), f"{SANDBOX_HOME}/data") in pairs(outer, "--ro-bind")
    assert (str(extra), f"{SANDBOX_HOME}/helper.py") in pairs(outer, "--ro-bind")
    assert (str(runtime), str(runtime)) in pairs(outer, "--bind")
    assert option(outer, "--chdir") == [SANDBOX_HOME]
    env = dict(pairs(outer, "--setenv"))
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "3"
    assert env["HOME"] == SANDBOX_HOME and env["JUPYTER_RUNTIME_DIR"] == str(runtime)
    # gpu on, 512 MiB of the 81920 MiB GPU per job: PyTorch's allocator is told the fraction, rounded down
    assert env["CUDA_VISIBLE_DEVICES"] == "0" and env["AUTOGRADER_GPU_MEMORY_CAP_MB"] == "512"
    assert env["PYTORCH_CUDA_ALLOC_CONF"] == "per_process_memory_fraction:0.006250"

    assert f"--reuid={SANDBOX_UID}" in inner and f"--regid={SANDBOX_UID}" in inner
    for flag in ("--clear-groups", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"):
        assert flag in inner, flag
    assert inner[:2] == ["sh", "-c"] and f"chown {SANDBOX_UID}:{SANDBOX_UID} {SANDBOX_HOME}" in inner[2]


def test_wrap_without_a_gpu_hides_the_devices(host, tmp_path):
    argv = Sandbox(Limits(), tmp_path).wrap(KERNEL)
    env = dict(pairs(argv, "--setenv"))
    assert env["CUDA_VISIBLE_DEVICES"] == "" and "PYTORCH_CUDA_ALLOC_CONF" not in env
    assert "--dev-bind" not in argv
    assert option(argv, "--tmpfs") == ["/tmp", SANDBOX_HOME]
    assert f"--as={Limits().address_space_mb * MiB}" in argv and f"--nproc={Limits().processes}" in argv


def test_a_data_dir_that_does_not_exist_is_not_mounted(host, tmp_path):
    argv = Sandbox(Limits(), tmp_path, data_dir=tmp_path / "missing").wrap(KERNEL)
    assert f"{SANDBOX_HOME}/data" not in argv


def test_with_a_pids_cgroup_the_rlimit_is_only_a_backstop(host, tmp_path):
    host.setattr(confine, "cgroup_roots", lambda: {"pids": Path("/sys/fs/cgroup")})
    argv = Sandbox(Limits(processes=48), tmp_path).wrap(KERNEL)
    assert f"--nproc={NPROC_BACKSTOP}" in argv


def test_cgroups_are_joined_before_anything_runs(host, tmp_path):
    groups = (Path("/sys/fs/cgroup/a b"), Path("/sys/fs/cgroup/pids/k"))
    argv = Sandbox(Limits(), tmp_path, cgroups=groups).wrap(KERNEL)
    assert argv[:2] == ["sh", "-c"]
    assert "echo $$ > '/sys/fs/cgroup/a b/cgroup.procs'" in argv[2]
    assert "echo $$ > /sys/fs/cgroup/pids/k/cgroup.procs" in argv[2] and argv[2].endswith('exec "$@"')
    assert argv[3:5] == ["sh", "prlimit"]


def test_without_bwrap_the_environment_is_still_cleared(host, tmp_path):
    host.setattr(confine, "bwrap_binary", lambda: None)
    argv = Sandbox(Limits(), tmp_path).wrap(KERNEL)
    assert "--unshare-net" not in argv
    start = argv.index("env")
    assert argv[start + 1] == "-i" and f"HOME={SANDBOX_HOME}" in argv
    assert argv[-len(KERNEL):] == KERNEL


def test_the_kernel_has_a_user_name_without_a_passwd_entry_for_its_uid(host, tmp_path):
    # A GPU host's /etc/passwd had no entry for uid 65534: getpass.getuser(), which torch.optim reaches through
    # torch._dynamo, raised KeyError in every student's kernel. getpass reads LOGNAME and USER first.
    environment = Sandbox(Limits(), tmp_path).environment()
    assert environment["USER"] == environment["LOGNAME"] == "student"


def test_not_root_no_uid_change(host, tmp_path):
    host.setattr(confine.os, "geteuid", lambda: 1000)
    argv = Sandbox(Limits(), tmp_path).wrap(KERNEL)
    assert "setpriv" not in argv and not any(item.startswith("--reuid") for item in argv)
    assert argv[-len(KERNEL) - 1:] == ["--", *KERNEL]
