"""The settings `canbo serve` hands to gunicorn (webapp/production/gunicorn_conf.py)."""

from __future__ import annotations

import gc

from flask import Flask

from webapp.production import gunicorn_conf


def test_a_started_worker_leaves_what_it_loaded_out_of_later_collections(app: Flask) -> None:
    loaded = app.view_functions  # loaded with the app, before the worker starts serving
    assert gc.is_tracked(loaded)
    try:
        gunicorn_conf.post_worker_init(worker=None)
        assert gc.get_freeze_count() > 0
        # Frozen objects are in no generation: a collection, full or not, does not walk them again.
        assert not any(obj is loaded for obj in gc.get_objects())
        created_later: dict[str, list[int]] = {"served": []}  # what a request makes is still collected
        assert any(obj is created_later for obj in gc.get_objects())
    finally:
        gc.unfreeze()
    assert any(obj is loaded for obj in gc.get_objects())


def test_a_started_worker_has_every_page_template_compiled(app: Flask) -> None:
    """The first request for a page in a new worker does not compile its template: post_worker_init did."""

    class Worker:
        wsgi = app

    pages = {name for name in app.jinja_env.list_templates() if name.endswith(".html")}
    assert {"instances/show.html", "inbox/index.html", "audit/instance.html"} <= pages
    compiled = app.jinja_env.cache
    assert compiled is not None and not compiled
    try:
        gunicorn_conf.post_worker_init(worker=Worker())
    finally:
        gc.unfreeze()
    assert {name for _loader, name in compiled} == pages
