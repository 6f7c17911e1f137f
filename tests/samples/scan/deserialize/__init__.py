import marshal
import pickle

import yaml


def load_state(blob):
    return pickle.loads(blob)


def load_code(blob):
    return marshal.loads(blob)


def load_config(text):
    return yaml.load(text)
