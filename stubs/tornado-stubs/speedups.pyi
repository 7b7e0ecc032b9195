# tornado.speedups, the C extension: stubbed so that a stub package for
# tornado does not hide it (pyright reads no .pyi beside a .so once a
# tornado-stubs package is found).
def websocket_mask(mask: bytes, data: bytes) -> bytes: ...
