"""Write marker files everywhere outside the private scratch: /usr, the venv, the repository, the course, /tmp.

/tmp inside the kernel is private, so writing there succeeds; none of these markers may appear on the host.

expect: test_double=0 test_square=1
reason: values are not close
markers: /usr/autograder-hostile-write @@VENV@@/autograder-hostile-write @@REPO@@/autograder-hostile-write
markers: /etc/autograder-hostile-write /root/autograder-hostile-write /autograder-hostile-write
markers: @@COURSE_DIR@@/autograder-hostile-write @@TREE_DIR@@/autograder-hostile-write /tmp/autograder-hostile-write
markers: @@VENV@@/lib/python3.11/site-packages/autograder_hostile_write.pth /work/autograder-hostile-write
"""
# %% [double]
import os

TARGETS = ["/usr/autograder-hostile-write", "@@VENV@@/autograder-hostile-write", "@@REPO@@/autograder-hostile-write",
           "/etc/autograder-hostile-write", "/root/autograder-hostile-write", "/autograder-hostile-write",
           "@@COURSE_DIR@@/autograder-hostile-write", "@@TREE_DIR@@/autograder-hostile-write",
           "/tmp/autograder-hostile-write", "@@VENV@@/lib/python3.11/site-packages/autograder_hostile_write.pth",
           "/work/autograder-hostile-write", os.path.expanduser("~/autograder-hostile-scratch")]
WRITTEN = []
for target in TARGETS:
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w") as handle:
            handle.write("import os; os.system('touch /tmp/autograder-hostile-write')\n")
        WRITTEN.append(target)
    except OSError:
        pass


def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
