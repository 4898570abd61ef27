"""Return a dict shaped like a serializer's tagged object: __pickle__, py/reduce, __class__ keys.

It crosses as a plain dict of strings; nothing is ever unpickled.

expect: test_double=0 test_square=1
reason: type mismatch|expected a Tensor to differentiate
markers: /tmp/autograder-hostile-tagged
"""
# %% [double]
import base64
import os
import pickle


class Payload:
    def __reduce__(self):
        return (os.system, ("touch /tmp/autograder-hostile-tagged",))


BLOB = base64.b64encode(pickle.dumps(Payload())).decode()


def double(x):
    return {"__pickle__": BLOB, "py/reduce": [{"py/function": "os.system"}, "touch /tmp/autograder-hostile-tagged"],
            "__class__": "torch.Tensor", "__tensor__": BLOB}
# %% [square]
def square(x):
    return x ** 2
