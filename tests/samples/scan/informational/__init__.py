import random
import subprocess


def roll():
    value = random.randint(1, 6)
    assert 1 <= value <= 6
    return value


def uptime():
    return subprocess.run(["uptime"], capture_output=True, check=False).stdout


LISTEN = "0.0.0.0"
