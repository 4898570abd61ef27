"""Per-kernel cgroups on the real host: a grader sweeping up after killed graders spares live graders' groups."""

from __future__ import annotations

import subprocess

import pytest

from autograder.sandbox.cgroups import GROUP_PREFIX, cgroup_roots, owned_name, owner_is_gone, remove_stale_cgroups


def test_the_sweep_takes_a_dead_graders_empty_group_and_spares_a_live_graders():
    """Two graders on one host (an instructor's run beside the hub's service): one made its kernel's group and
    has not moved the kernel in yet when the other starts a batch. The sweep used to take every empty group, so
    the first kernel failed to start ("No such device" writing its pid into the removed group)."""
    roots = set(cgroup_roots().values())
    if not roots:
        pytest.skip("this host lets this process create no cgroup")
    live = subprocess.Popen(["sleep", "60"])
    gone = subprocess.Popen(["true"])
    gone.wait()
    groups = {owner.pid: [root / f"{GROUP_PREFIX}{owner.pid}-runtime-sweep" for root in roots]
              for owner in (live, gone)}
    made = [group for paths in groups.values() for group in paths]
    try:
        for group in made:
            group.mkdir()
        remove_stale_cgroups()
        assert all(group.is_dir() for group in groups[live.pid])
        assert not any(group.exists() for group in groups[gone.pid])
    finally:
        live.kill()
        live.wait()
        for group in made:
            if group.exists():
                group.rmdir()


def test_names_carry_their_grader_and_only_a_named_dead_owner_is_gone():
    mine = owned_name(GROUP_PREFIX, "runtime-1a2b")
    assert mine.startswith(GROUP_PREFIX) and not owner_is_gone(GROUP_PREFIX, mine)
    assert not owner_is_gone("autograder-", "autograder-selftest-x1y2")  # a temporary folder, not a grader's
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert owner_is_gone(GROUP_PREFIX, f"{GROUP_PREFIX}{gone.pid}-runtime-1a2b")
