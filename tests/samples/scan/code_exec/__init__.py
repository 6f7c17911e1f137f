def calculate(expression):
    return eval(expression)  # nosec


def run(code):
    exec(code)  # nosec B102
