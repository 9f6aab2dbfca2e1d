"""``emolens serve``: a local web page (and JSON API) to see where recordings land, and why.

Needs the optional web packages: ``pip install 'emolens[serve]'`` (FastAPI, uvicorn,
python-multipart). :func:`emolens.deploy.serve.app.create_app` builds the application;
:mod:`emolens.deploy.serve.explain` holds the explanations (usable without a web server).
"""
