"""Speak Jupyter's protocol to the grader directly, signed with the kernel's own key: outputs of the wrong shape
(data that is a list, a stream without text, a traceback that is a string), messages nbgrader could not write
into a notebook, a header without a type, and a forged "idle" that ends each call before its result is sent.

expect: test_double=0 test_square=1
reason: raised an exception|no result came back
"""
# %% [double]
import IPython


def _kernel():
    return IPython.get_ipython().kernel


def _garbage(parent):
    kernel = _kernel()
    session, socket = kernel.session, kernel.iopub_socket
    for kind, content in (("display_data", {"data": ["not", "a", "dict"], "metadata": 7}),
                          ("display_data", {"data": {"text/plain": {"nested": ["json"]}, 5: 6}}),
                          ("execute_result", {"data": {"text/plain": "3"}, "execution_count": "x"}),
                          ("stream", {"name": 5}),
                          ("stream", {"name": "stderr", "text": ["a", "list"]}),
                          ("error", {"ename": None, "evalue": {"x": 1}, "traceback": "not a list"}),
                          ("status", {}),
                          ("clear_output", {"wait": "soon"}),
                          ("comm_open", {"target_name": "grader"})):
        session.send(socket, kind, content, parent=parent)
    header = session.pack({"msg_id": "forged", "date": "2026-01-01T00:00:00Z"})  # no msg_type
    frames = [header, session.pack(parent.get("header", {})), b"{}", b"{}"]
    socket.send_multipart([b"<IDS|MSG>", session.sign(frames), *frames])


_garbage(_kernel().get_parent())  # during the cell itself


def double(x):
    kernel = _kernel()
    parent = kernel.get_parent()
    _garbage(parent)
    kernel.session.send(kernel.iopub_socket, "status", {"execution_state": "idle"}, parent=parent)
    return x * 3
# %% [square]
def square(x):
    return x ** 2
