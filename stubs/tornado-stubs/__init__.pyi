# The package itself, as Tornado's own __init__.pyi declares it: the version
# and the submodules (imported lazily at runtime). Only gen, concurrent, ioloop
# and platform.asyncio are stubbed in this package; every other submodule is
# read from Tornado's inline types.
from . import auth as auth
from . import autoreload as autoreload
from . import concurrent as concurrent
from . import curl_httpclient as curl_httpclient
from . import escape as escape
from . import gen as gen
from . import http1connection as http1connection
from . import httpclient as httpclient
from . import httpserver as httpserver
from . import httputil as httputil
from . import ioloop as ioloop
from . import iostream as iostream
from . import locale as locale
from . import locks as locks
from . import log as log
from . import netutil as netutil
from . import options as options
from . import platform as platform
from . import process as process
from . import queues as queues
from . import routing as routing
from . import simple_httpclient as simple_httpclient
from . import tcpclient as tcpclient
from . import tcpserver as tcpserver
from . import template as template
from . import testing as testing
from . import util as util
from . import web as web

__all__ = [
    "auth",
    "autoreload",
    "concurrent",
    "curl_httpclient",
    "escape",
    "gen",
    "http1connection",
    "httpclient",
    "httpserver",
    "httputil",
    "ioloop",
    "iostream",
    "locale",
    "locks",
    "log",
    "netutil",
    "options",
    "platform",
    "process",
    "queues",
    "routing",
    "simple_httpclient",
    "tcpclient",
    "tcpserver",
    "template",
    "testing",
    "util",
    "web",
]

version: str
version_info: tuple[int, int, int, int]
