"""``python -m examples.todo`` (from the repository root): serve the app on http://127.0.0.1:8000.

One worker, because the store lives in the worker process's memory (see store.py): with
several worker processes each would have its own users, tokens and todos.
"""

from .app import app

if __name__ == "__main__":
    app.serve(host="127.0.0.1", port=8000, workers=1)
