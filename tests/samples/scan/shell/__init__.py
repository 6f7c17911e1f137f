import os
import subprocess


def restart(service):
    subprocess.run(f"systemctl restart {service}", shell=True, check=False)


def ping(host):
    return os.system("ping -c 1 " + host)
