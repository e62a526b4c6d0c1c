import harness


def noop(i):
    harness.hit()


def stamp():
    harness.stamp()
