# tornado.platform has no names of its own; only platform.asyncio is stubbed
# here (twisted and caresresolver are read from Tornado's inline types).
