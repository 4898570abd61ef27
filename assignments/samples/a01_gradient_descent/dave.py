# Dave: handed in the release unchanged; every function is still a stub.
