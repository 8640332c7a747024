"""The ``process_outages`` command line: a thin typer layer over the public API."""
