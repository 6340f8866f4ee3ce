"""msal's `http_client` for tests: the real public authority URLs, answered by a loopback fake.

msal only accepts https authorities, so msal keeps its real authority URLs
(https://login.microsoftonline.com/<tenant>) and this client routes exactly that origin to a fake.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

PUBLIC_AUTHORITY_HOST = "https://login.microsoftonline.com"


class LoopbackHttpClient:
    """msal's `http_client`: a requests session that rewrites the given https origins to loopback.

    Any other URL is refused, so msal can never reach the internet from a test.
    """

    def __init__(self, routes: dict[str, str]) -> None:
        self._routes = routes
        self._session = requests.Session()
        self.urls: list[str] = []  # public URLs msal asked for, in order

    def _route(self, url: str) -> str:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._routes:
            raise requests.ConnectionError(f"the loopback client does not route {origin}")
        self.urls.append(url)
        return self._routes[origin] + url[len(origin) :]

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> requests.Response:
        return self._session.get(self._route(url), params=params, headers=headers, timeout=10, **kwargs)

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any
    ) -> requests.Response:
        return self._session.post(
            self._route(url), params=params, data=data, headers=headers, timeout=10, **kwargs
        )

    def close(self) -> None:
        self._session.close()
