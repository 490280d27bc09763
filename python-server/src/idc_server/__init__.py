"""idc server: pandas/NumPy indicators and matplotlib charts over gRPC.

``idc_server.core`` holds the analytics and knows nothing about gRPC;
``idc_server.api`` is the thin gRPC layer over it.
"""

__version__ = "0.1.0"
