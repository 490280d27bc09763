"""The servers idc is compared with, each over the same core computation as idc-server."""
