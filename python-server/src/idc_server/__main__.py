"""``python -m idc_server`` runs the server."""

from idc_server.cli import main

main()
