"""Optional integrations with third-party libraries, each imported lazily.

``import futurebridge`` never imports anything here: each module is loaded
only when its library is in use.
"""
