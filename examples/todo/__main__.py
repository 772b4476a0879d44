"""``python -m examples.todo`` (from the repository root): serve the app on http://127.0.0.1:8000,
one worker process per CPU. The data is in the database (see database.py), which every worker
shares."""

from .app import app

if __name__ == "__main__":
    app.serve(host="127.0.0.1", port=8000)
