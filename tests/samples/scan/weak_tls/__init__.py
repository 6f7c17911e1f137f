import requests


def fetch_status(url):
    return requests.get(url, verify=False, timeout=5).status_code
