"""The Flask app of ``flask_app.py`` served by eventlet's own WSGI server, as eventlet apps run
(gunicorn 26+ has no eventlet worker): ``eventlet.monkey_patch()`` first, then the app."""

import eventlet

eventlet.monkey_patch()

import os  # noqa: E402

import eventlet.wsgi  # noqa: E402
from flask_app import app  # noqa: E402

if __name__ == "__main__":
    eventlet.wsgi.server(
        eventlet.listen(("127.0.0.1", int(os.environ["PORT"]))), app, log_output=False
    )
