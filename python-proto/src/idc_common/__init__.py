"""Hand-written definitions that the idc server and the Python client share.

Pure Python with no dependencies: the idc server's proto-free core imports
it as well as the client. The generated code is the sibling package ``idc``.
"""
