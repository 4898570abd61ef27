"""Output messages each just under the grader's limit, as fast as the kernel can send them: 10 x 60 MB.

No single message is over the limit; the rate is the attack. The grader must hold only a few at a time
(it drops them past the output limit), and its memory must stay where it was. The answer returned is wrong
on purpose: the case checks the grader keeps grading, not that the flood scores.

expect: test_double=0 test_square=1
reason: values are not close|did not return within
"""
# %% [double]
import IPython


def double(x):
    kernel = IPython.get_ipython().kernel
    text = "y" * (60 * 10**6)
    for _ in range(10):
        kernel.session.send(kernel.iopub_socket, "stream", {"name": "stdout", "text": text},
                            parent=kernel.get_parent())
    return x * 3
# %% [square]
def square(x):
    return x ** 2
