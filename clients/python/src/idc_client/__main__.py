"""``python -m idc_client``: the same as the ``idc-client`` command."""

from idc_client.cli import main

raise SystemExit(main())
