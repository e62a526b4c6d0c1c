"""The cuttable TCP forwarder now ships in `jobframe.testing.tcp_proxy`; kept for old imports."""

from jobframe.testing.tcp_proxy import Proxy

__all__ = ["Proxy"]
