"""The proto-free core: data loading, indicators and charts.

Nothing in this package imports grpc or generated code; a test enforces it.
"""
