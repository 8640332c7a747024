"""``python -m outages_processor`` runs the ``process_outages`` command line."""

from outages_processor.scripts.main import run

if __name__ == "__main__":  # pragma: no branch
    run()
