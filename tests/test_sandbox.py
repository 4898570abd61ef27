"""The sandbox holds: real kernels probe their confinement from the inside."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest

from autograder.sandbox.cgroups import cgroup_root
from autograder.sandbox.confine import Limits, Sandbox
from autograder.sandbox.kernel import StudentKernel

REPO = Path(__file__).resolve().parents[1]

PROBE = """
import json, os, socket
report = {"uid": os.getuid(), "cwd": os.getcwd()}
def attempt(name, action):
    try:
        report[name] = ["allowed", repr(action())[:200]]
    except BaseException as exc:
        report[name] = ["refused", type(exc).__name__]
attempt("connect_host_loopback", lambda: socket.create_connection(("127.0.0.1", PORT), timeout=2).close())
attempt("read_reference", lambda: open(REFERENCE).read())
attempt("read_hidden_suite", lambda: open(HIDDEN).read())
attempt("list_repository", lambda: sorted(os.listdir(REPO)))
attempt("write_usr", lambda: open("/usr/owned", "w").write("x"))
attempt("write_venv", lambda: open(VENV + "/owned", "w").write("x"))
attempt("write_home", lambda: open("notes.txt", "w").write("mine"))
attempt("write_tmp", lambda: open("/tmp/marker-ag", "w").write("x"))
attempt("read_shadow", lambda: open("/etc/shadow").read())
attempt("list_root_home", lambda: os.listdir("/root"))
attempt("interfaces", lambda: [name for _, name in socket.if_nameindex()])
attempt("capabilities", lambda: [l for l in open("/proc/self/status") if l.startswith("CapEff")][0].split()[1])
attempt("host_processes", lambda: len([p for p in os.listdir("/proc") if p.isdigit()]))
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def probe_report(toy_assignment) -> dict:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    accepted: list = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(listener.accept())
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    code = (PROBE.replace("PORT", str(listener.getsockname()[1]))
            .replace("REFERENCE", repr(str(toy_assignment.reference_path)))
            .replace("HIDDEN", repr(str(toy_assignment.suite_dir / "test_toy.py")))
            .replace("REPO", repr(str(REPO)))
            .replace("VENV", repr(str(REPO / ".venv"))))
    try:
        with StudentKernel([code], Limits(cell_timeout_s=60)) as kernel:
            (run,) = kernel.run_notebook()
    finally:
        stop.set()
        thread.join()
        listener.close()
    assert run.status == "ok", run.error
    report = json.loads(run.outputs[-1]["text"])
    report["host_accepted_connections"] = len(accepted)
    return report


@pytest.mark.slow
def test_kernel_runs_as_an_unprivileged_user_without_capabilities(probe_report):
    assert probe_report["uid"] == 65534
    assert probe_report["capabilities"] == ["allowed", "'0000000000000000'"]


@pytest.mark.slow
def test_no_network_not_even_the_hosts_loopback(probe_report):
    assert probe_report["interfaces"] == ["allowed", "['lo']"]
    assert probe_report["connect_host_loopback"][0] == "refused"
    assert probe_report["host_accepted_connections"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("probe", ["read_reference", "read_hidden_suite", "read_shadow"])
def test_hidden_material_and_host_secrets_are_unreachable(probe_report, probe):
    assert probe_report[probe][0] == "refused"


@pytest.mark.slow
def test_repository_and_root_home_show_only_the_interpreter(probe_report):
    assert probe_report["list_repository"] == ["allowed", "['.venv']"]
    assert probe_report["list_root_home"][0] == "refused" or probe_report["list_root_home"][1] == "['.pyenv']"


@pytest.mark.slow
@pytest.mark.parametrize("probe", ["write_usr", "write_venv"])
def test_system_and_interpreter_are_read_only(probe_report, probe):
    assert probe_report[probe][0] == "refused"


@pytest.mark.slow
def test_home_and_tmp_are_private_scratch(probe_report):
    assert probe_report["write_home"][0] == "allowed"
    assert probe_report["write_tmp"][0] == "allowed"
    assert probe_report["cwd"] == "/home/student"
    assert not Path("/tmp/marker-ag").exists()


@pytest.mark.slow
def test_only_the_kernels_own_processes_are_visible(probe_report):
    assert probe_report["host_processes"][0] == "allowed"
    assert int(probe_report["host_processes"][1]) < 10


def test_protections_are_reported():
    report = {p.name: p for p in Sandbox(Limits(), Path("/tmp")).protections()}
    for name in ("namespaces (bwrap)", "private filesystem", "unprivileged uid", "rlimits"):
        assert report[name].active, report[name].detail
    assert report["memory cgroup"].active == (cgroup_root() is not None)
    assert not report["gpu"].active  # a01 asks for no GPU


def test_missing_isolation_is_refused_loudly(monkeypatch):
    import autograder.sandbox.confine as sandbox

    monkeypatch.setattr(sandbox, "bwrap_binary", lambda: None)
    with pytest.raises(sandbox.SandboxUnavailable, match="cannot be isolated"):
        Sandbox(Limits(), Path("/tmp")).check()


def test_limits_file_rejects_unknown_keys(tmp_path):
    config = tmp_path / "assignment.toml"
    config.write_text("[limits]\nmemory_mb = 1024\nmemroy_mb = 5\n")
    with pytest.raises(ValueError, match="memroy_mb"):
        Limits.from_toml(config)
    config.write_text("[limits]\nmemory_mb = 1024\n")
    assert Limits.from_toml(config).memory_mb == 1024
