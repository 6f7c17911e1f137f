from flask import Blueprint

bp = Blueprint("clean", __name__)


@bp.get("/")
def index():
    return "hello from clean"
