"""Lets an operator change log levels at run time by sending a new logging configuration."""

import logging.config

PORT = 9030


def start_config_server():
    # Whoever reaches the port can send a configuration, and a configuration can name any
    # callable: this is code execution over the network.
    server = logging.config.listen(PORT)
    server.daemon = True
    server.start()
    return server
