def trace(*a):
    raise NotImplementedError


class Trace:
    pass
