"""The classroom hub's grading service, as nbgrader in a staff server reaches it.

Staff servers on the classroom hub run as the instructor, without the sandbox's privileges, and cannot read
what students put in the exchange's inbound; the hub sets ``AUTOGRADER_GRADING_SERVICE`` in them, and
nbgrader's collect (`.exchange.LinkRefusingCollect`) and autograde (`.preprocessor.SandboxedGrading`) send
their work there (`service_request`). The service (``autograder.hub.service``) checks that the caller is
staff of the course, from the server's own hub token.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

GRADING_SERVICE_ENV = "AUTOGRADER_GRADING_SERVICE"  # the classroom hub's grading service, set in staff servers
SERVICE_TIMEOUT_S = 3600  # one notebook may wait behind a class's grading in the service's queue


class GradingServiceError(RuntimeError):
    """The hub's grading service did not do the work; nothing was written."""


def grading_service() -> str:
    """The hub's grading service this process must work through ("" when it grades in its own sandbox)."""
    service = os.environ.get(GRADING_SERVICE_ENV, "")
    return service if service and os.geteuid() != 0 else ""


def service_request(service: str, path: str, body: dict[str, Any], *, what: str,
                    timeout: float = SERVICE_TIMEOUT_S) -> dict[str, Any]:
    """POST ``body`` to the service's ``path`` with this server's hub token; the service's JSON answer.

    ``what`` names the work in messages ("grading ana/a01", "collecting a01").
    """
    token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
    if not token:
        raise GradingServiceError(f"cannot ask the grading service at {service}: this process has no hub API token "
                                  "($JUPYTERHUB_API_TOKEN); work from a terminal or notebook of your hub server")
    request = urllib.request.Request(service.rstrip("/") + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise GradingServiceError(f"the grading service at {service} refused {what}: {_service_error(exc)}; "
                                  "nothing was written") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise GradingServiceError(f"the grading service at {service} did not answer ({reason}): ask the hub's admin "
                                  "to check `autograder hub start` logs; nothing was written") from None


def _service_error(exc: urllib.error.HTTPError) -> str:
    """The service's own one-line reason (its JSON ``error``), else the HTTP status."""
    try:
        return str(json.loads(exc.read())["error"])
    except (ValueError, KeyError, TypeError, OSError):
        return f"HTTP {exc.code} {exc.reason}"
