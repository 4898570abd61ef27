"""The security self-test's categories of attack, apart from the cases: the command line lists them cheaply."""

CATEGORIES: dict[str, str] = {
    "comparison": "change what a comparison sees",
    "unpickle": "payloads that run code if unpickled",
    "hidden_material": "read hidden material, write outside scratch",
    "exhaustion": "exhaust time, memory, processes, disk, output",
    "crash": "crash or kill the kernel, exit early",
    "network": "reach the network, the hub, other kernels",
    "smuggle": "smuggle code into the grader via results",
    "notebook_json": "edit the notebook's JSON",
    "links": "submit links to other work or the course's sources",
    "banned_ops": "call a banned primitive",
    "messages": "make the grader hold what the kernel sends",
    "lookup": "score a threshold by looking hidden examples up in readable labelled data",
    "leftovers": "leave state behind for the next student graded, or see one graded at the same time",
}
