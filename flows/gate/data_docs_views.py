"""GX Data Docs views whose pages load every script, style, font and image from the site itself
(``flows/gate/data_docs.py`` configures the site with them and copies the vendored files in)."""

from __future__ import annotations

from typing import Any

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import BaseLoader, pass_context

from flows.gate.compiled_templates import compiled_templates
from flows.gate.data_docs import offline_source


class OfflineTemplates(BaseLoader):
    """GX's template loader, each template's source made offline (``offline_source``)."""

    def __init__(self, loader: BaseLoader):
        self.loader = loader

    def get_source(self, environment, template):
        source, filename, uptodate = self.loader.get_source(environment, template)
        return offline_source(source), filename, uptodate

    def list_templates(self):
        return self.loader.list_templates()


@pass_context
def digigov_static(context: Any) -> str:
    """The relative way from the page being rendered up to the site's ``static/`` folder, as GX's
    own templates (top_navbar.j2, favicon.j2) work it out: a validation page sits four folders
    deep (suite/run/time/batch), a suite's page one, and each dot of a suite's name is a folder."""
    renderer = str(context.get("renderer_type") or "")
    suite = context.get("expectation_suite_name")
    dots = suite.count(".") if isinstance(suite, str) else 0
    if "ValidationResults" in renderer or "ProfilingResults" in renderer:
        depth = dots + 4
    elif "ExpectationSuite" in renderer:
        depth = dots + 1
    else:  # the index page
        depth = 0
    return "../" * depth + "static/"


class _Offline:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env.loader = OfflineTemplates(self.env.loader)
        self.env.globals["digigov_static"] = digigov_static
        self.env.bytecode_cache = compiled_templates(type(self))


class OfflinePageView(_Offline, DefaultJinjaPageView):
    """GX's page view (suites, validation results) with every asset loaded from the site."""


class OfflineIndexPageView(_Offline, DefaultJinjaIndexPageView):
    """GX's index page view with every asset loaded from the site."""
